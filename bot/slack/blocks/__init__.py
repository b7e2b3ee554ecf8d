"""PURE Block Kit builders. No I/O, no DB, no clock: plain values in, dicts out.

Untrusted text (posts, author names and handles, even staff drafts) is escaped (`&` first,
then `<` and `>`) before it enters mrkdwn, so a post can never ping `@channel`, mention a user
or disguise a link (PLATFORM.md, "Escaping untrusted text"). Every builder stays within Block
Kit's limits (tests/unit/slack/test_blocks.py checks them with extreme inputs).

    text.py      escaping, Slack's length counting, text objects, mentions, dates, links
    card.py      `card(view)`: the mention card and its buttons by state
    modals.py    draft, approve-with-edits, reject, reassign, correct
    messages.py  approval request (thread, DM), rejection, draft preview, digest, errors, help
"""

from bot.slack.blocks.card import card
from bot.slack.blocks.messages import (
    DigestEntry,
    DigestItem,
    approval_dm,
    approval_request,
    digest,
    draft_preview,
    error_blocks,
    error_message,
    help_blocks,
    rejected_notice,
)
from bot.slack.blocks.modals import (
    approve_edit_modal,
    correct_modal,
    draft_modal,
    reassign_modal,
    reject_modal,
)
from bot.slack.blocks.text import SECTION_TEXT_MAX, escape_mrkdwn, slack_len, truncate_escaped

__all__ = [
    "SECTION_TEXT_MAX",
    "DigestEntry",
    "DigestItem",
    "approval_dm",
    "approval_request",
    "approve_edit_modal",
    "card",
    "correct_modal",
    "digest",
    "draft_modal",
    "draft_preview",
    "error_blocks",
    "error_message",
    "escape_mrkdwn",
    "help_blocks",
    "reassign_modal",
    "reject_modal",
    "rejected_notice",
    "slack_len",
    "truncate_escaped",
]
