"""What a queued Slack post is: the kinds of message the outbox sends. PURE.

An outbox row (`bot.kit.models.OutboxMessage`) stores its kind as the string value, which the
database's CHECK constraint lists; `bot.outbox` sends each kind with its own Slack call and
`bot.slack.render` draws it. A member equals its string, so either may be used.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxKind(StrEnum):
    CARD = "card"  # a mention's card, posted to its team's channel
    UPDATE = "update"  # chat.update of a posted card (or of an alert)
    THREAD = "thread"  # a reply in the thread of a card (or of an alert)
    DIGEST = "digest"  # the low-priority cards folded while a channel was flooded
    ALERT = "alert"  # a message of its own to a channel: a crisis alert, a weekly report
    DM = "dm"  # a direct message (to the approvers, for an approval request)
    EPHEMERAL = "ephemeral"  # seen by one person only
    FILE = "file"  # an uploaded file (a report's chart), possibly in a message's thread


# The values as plain strings, in order: the CHECK constraint in bot.kit.models lists them.
OUTBOX_KINDS: tuple[str, ...] = tuple(k.value for k in OutboxKind)
