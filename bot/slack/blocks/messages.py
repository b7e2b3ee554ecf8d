"""Messages other than the card: approval requests (thread and DM), the rejection notice, the
preview of a draft taken from a thread reply, the digest of folded mentions, errors, help.

Each builder returns `{"text": …, "blocks": […]}` (the `text` is the escaped notification
fallback), except `help_blocks` and `error_blocks`, which return the blocks alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.domain.card import CardView, DraftView
from bot.domain.rules.schema import PRIORITIES
from bot.slack.blocks.card import (
    PRIORITY_EMOJI,
    approval_buttons,
    button,
    draft_next,
    handle,
    handle_of,
    net_label,
    network_label,
    ref,
    why_line,
)
from bot.slack.blocks.text import (
    HEADER_MAX,
    MESSAGE_BLOCKS_MAX,
    context,
    esc,
    escape_mrkdwn,
    inline,
    label,
    link,
    mention,
    mentions,
    plain,
    section,
    truncate_escaped,
)
from bot.slack.ids import Action

DRAFT_MAX = 2900


def _draft(view: CardView, builder: str) -> DraftView:
    if view.draft is None:
        raise ValueError(f"{builder} needs a card with a draft")
    return view.draft


def _draft_section(draft: DraftView) -> dict:
    return section(truncate_escaped(draft.text, DRAFT_MAX) or "_(empty)_")


def _risks(view: CardView) -> str:
    return " ".join(f":warning: {esc(label(r), 100)}" for r in view.risk[:8])


def _blocked(view: CardView) -> list[dict]:
    if not view.reply_blocked:
        return []
    return [section(":no_entry: *No reply from here:* " + truncate_escaped(view.reply_blocked, 1000))]


# --- Approval -------------------------------------------------------------------------------
def overtaken(view: CardView) -> list[dict]:
    """What an approver must see when the customer wrote again after the draft was written:
    their latest message, and that the draft did not answer it. Nothing otherwise."""
    c = view.conversation
    if c is None or not c.draft_stale:
        return []
    said = (link(c.reply_to.url, "The customer's latest message") + ": "
            + truncate_escaped(c.reply_to.text, 1500)) if c.reply_to is not None else \
        "The customer wrote again."
    return [section(f":speech_balloon: {said}"),
            context(":warning: *This draft was written before the customer's last message:* "
                    "read it before you approve, or reject so the draft is rewritten.")]


def approval_request(view: CardView, approvers: Sequence[str]) -> dict:
    """Posted in the card's thread when a draft is submitted: mentions the approvers (users
    `<@U…>` and groups `<!subteam^S…>`), shows the draft, Approve / with edits / Reject."""
    d = _draft(view, "approval_request")
    who = mentions(list(approvers), empty="No approver is set for this team")
    blocks = [
        section(f":lock: {who}: please review this reply by {mention(d.author)} to "
                f"{handle(view)} on {network_label(view)} · *{esc(view.priority, 8)}*"),
        _draft_section(d),
        *overtaken(view),
        context(why_line(view), _risks(view)),
        *_blocked(view),
        {"type": "actions", "elements": approval_buttons(view)},
    ]
    text = f"Approval needed: {who} — a reply to {handle(view)} on {network_label(view)}"
    return {"text": text, "blocks": blocks}


def approval_dm(view: CardView, approvers: Sequence[str], card_url: str | None = None) -> dict:
    """The same request by direct message to one approver, with a link to the card."""
    d = _draft(view, "approval_dm")
    where = link(card_url, "Open the card") if card_url else esc(view.team_label, 200)
    wrote_again = overtaken(view)
    ask = ("The customer wrote again: your approval is still needed" if wrote_again
           else "Your approval is needed")
    blocks = [
        section(f":lock: {ask} for a reply by {mention(d.author)} to "
                f"{handle(view)} on {network_label(view)} · *{esc(view.priority, 8)}*"),
        _draft_section(d),
        *wrote_again,
        context(why_line(view), _risks(view)),
        context(f"{where} · approvers: {mentions(list(approvers), empty='none set')}"),
        *_blocked(view),
        {"type": "actions", "elements": approval_buttons(view)},
    ]
    text = (("The customer wrote again: approval needed" if wrote_again else "Approval needed")
            + f" for a reply to {handle(view)} on {network_label(view)}")
    return {"text": text, "blocks": blocks}


def rejected_notice(view: CardView, reason: str) -> dict:
    """In the card's thread: tells the drafter why, and offers to edit the draft."""
    d = _draft(view, "rejected_notice")
    why = truncate_escaped(reason.strip() or "no reason given", 2000)
    head = (f":leftwards_arrow_with_hook: {mention(d.author)}, your reply to {handle(view)} was "
            f"rejected by {mention(d.decided_by) if d.decided_by else 'an approver'}.")
    blocks = [section(f"{head}\n*Reason:* {why}"), _draft_section(d),
              {"type": "actions", "elements": [button("Edit draft", Action.DRAFT, ref(view),
                                                      "primary")]}]
    text = (f"{mention(d.author)}, your draft was rejected: "
            + truncate_escaped(reason.strip() or "no reason given", 300))
    return {"text": text, "blocks": blocks}


def draft_preview(view: CardView, length_used: int, limit: tuple[int, str]) -> dict:
    """The bot's answer to a thread reply taken as the draft: the draft as it will go out,
    its length against the network's limit, and the next buttons (none but Edit while it is
    too long)."""
    d = _draft(view, "draft_preview")
    most, unit = limit
    count = f"{length_used:,}/{most:,} {esc(unit, 100)}"
    over = length_used - most
    if over > 0:
        head = (f":warning: Draft saved, but it is {over:,} over the {network_label(view)} "
                f"limit ({count}). Shorten it before it can go out.")
        nxt: list[dict] = []
    else:
        head = f":memo: Draft saved from {mention(d.author)}'s thread reply · {count}"
        nxt = draft_next(view)
    blocks = [section(head), _draft_section(d), *_blocked(view),
              {"type": "actions", "elements": [button("Edit draft", Action.DRAFT, ref(view)),
                                               *nxt]}]
    return {"text": f"Draft saved ({length_used:,}/{most:,})", "blocks": blocks}


# --- Digest ---------------------------------------------------------------------------------
class DigestEntry(Protocol):
    """What a digest line needs; a `CardView` is one, and so is a `DigestItem`."""

    @property
    def mention_id(self) -> int: ...
    @property
    def priority(self) -> str: ...
    @property
    def network(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def author_handle(self) -> str: ...


@dataclass(frozen=True, slots=True)
class DigestItem:
    mention_id: int
    priority: str
    network: str
    url: str | None
    text: str
    author_handle: str


DIGEST_LINES = 20
FIRST_WORDS = 16


def _rank(priority: str) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


def digest(items: Sequence[DigestEntry], folded_count: int, *, most: int = DIGEST_LINES) -> dict:
    """One message for the mentions folded while a channel was flooded: the most urgent
    `most` as compact lines (priority, network, handle, first words, link), then "…and N
    more". `folded_count` is how many were folded in all (it may exceed `len(items)`)."""
    most = max(1, min(most, MESSAGE_BLOCKS_MAX - 4))
    ordered = sorted(items, key=lambda i: _rank(i.priority))  # stable: keeps arrival order
    shown = ordered[:most]
    total = max(folded_count, len(items))
    title = f"{total:,} quieter mention{'s' if total != 1 else ''} in a digest"
    blocks: list[dict] = [
        {"type": "header", "text": plain(title, HEADER_MAX)},
        context("This channel is busy, so lower-priority mentions are listed here instead "
                "of one card each."),
    ]
    for item in shown:
        words = " ".join(inline(item.text).split()[:FIRST_WORDS])
        if len(inline(item.text).split()) > FIRST_WORDS:
            words += " …"
        who = escape_mrkdwn(handle_of(item.network, item.author_handle))
        opener = link(item.url, "open") if item.url else "no link"
        blocks.append(section(
            f"{PRIORITY_EMOJI.get(item.priority, ':white_circle:')} *{esc(item.priority, 8)}* · "
            f"{net_label(item.network)} · {who} — {truncate_escaped(words, 400)} · {opener}"))
    if total > len(shown):
        blocks.append(context(f"…and {total - len(shown):,} more"))
    return {"text": title, "blocks": blocks}


# --- Errors and help ------------------------------------------------------------------------
_USER_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,30})&gt;")


def _error_text(message: str) -> str:
    """A domain error (bot.domain.errors: mrkdwn written by us) made safe: everything is escaped,
    then only well-formed user mentions `<@U…>` are given back."""
    return _USER_MENTION.sub(r"<@\1>", truncate_escaped(message.strip() or "That didn't work.",
                                                        2900))


def error_blocks(message: str) -> list[dict]:
    """The blocks of an ephemeral domain error ("already claimed by @ana")."""
    return [section(f":warning: {_error_text(message)}")]


def error_message(message: str) -> dict:
    """`text` + `blocks` of an ephemeral domain error, for `chat.postEphemeral` / `respond`."""
    return {"text": _error_text(message), "blocks": error_blocks(message)}


HELP_LINES = (
    ("/social help", "this message"),
)


def help_blocks(planned: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    """The `/social help` message: what works now, and what is planned."""
    lines = [f"`{cmd}` — {what}" for cmd, what in HELP_LINES]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "socialbot"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
    ]
    if planned:
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn", "text": "Coming: " + ", ".join(f"`{c}`" for c, _ in planned)}]})
    return blocks
