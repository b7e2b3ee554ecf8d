"""What a queued Slack post is: the kinds of message the outbox sends. PURE.

An outbox row (`bot.kit.models.OutboxMessage`) stores its kind as the string value, which the
database's CHECK constraint lists; `bot.outbox` sends each kind with its own Slack call and
`bot.slack.render` draws it. A member equals its string, so either may be used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True, slots=True)
class ParkedScope:
    """Rows held back because Slack refuses them in a way no retry can heal (the bot is not in
    the channel, the channel is archived, the token is revoked) until someone fixes the cause
    and reloads the rules (`SIGHUP`) or restarts, or a probe finds it fixed."""

    scope: str  # a channel id, `kind:<kind>` (a missing scope), or `all` (the token)
    code: str  # Slack's error code
    fix: str  # what a person must do
    rows: int
    since: datetime  # when the oldest of them was queued
    next_probe: datetime | None = None  # when the sender tries again on its own


@dataclass(frozen=True, slots=True)
class OutboxTrouble:
    """What `/social status`, `/metrics` and `/healthz` say about rows that are not moving:
    parked ones, and those that failed for good recently (with their oldest age)."""

    parked: tuple[ParkedScope, ...] = ()
    failed: int = 0
    failed_since: datetime | None = None  # the oldest recent failed row's queue time
    failed_error: str | None = None  # the most common error among them

    @property
    def parked_rows(self) -> int:
        return sum(p.rows for p in self.parked)

    @property
    def parked_since(self) -> datetime | None:
        return min((p.since for p in self.parked), default=None)
