"""The one small interface every network adapter implements.

A source fetches what is new since its saved state and returns normalised mentions plus the
state to save next. It never writes to the database: ingest stores the mentions and the new
state in one transaction, so a crash between the two repeats a fetch instead of losing one.

Failures are raised as the three exceptions below so the scheduler can treat every network
the same way: wait until a reset time, back off, or mark the source unhealthy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.mention import Mention
from bot.rules_schema import SourceSpec


@dataclass(frozen=True, slots=True)
class SourceState:
    """What a source remembers between polls (columns of the `source` table)."""

    cursor: str | None = None  # X/Mastodon since_id, Bluesky cursor or newest indexedAt
    etag: str | None = None  # RSS conditional GET
    last_modified: str | None = None  # RSS conditional GET


@dataclass(frozen=True, slots=True)
class Fetch:
    mentions: list[Mention]
    state: SourceState  # save this with the mentions, in the same transaction
    reads: int = 0  # posts read (X bills per post read)
    not_modified: bool = False  # RSS 304
    notes: list[str] = field(default_factory=list)  # e.g. "page cap reached, 300 more"


class SourceError(Exception):
    """Base of what a source may raise; anything else is a bug in the adapter."""


class RateLimited(SourceError):
    """The network said 429; do not call again before `reset_at` (UTC)."""

    def __init__(self, reset_at: datetime, detail: str = ""):
        self.reset_at = reset_at
        super().__init__(f"rate limited until {reset_at.isoformat()}" + (f": {detail}" if detail
                                                                          else ""))


class SourceUnavailable(SourceError):
    """5xx, timeout, connection error: retry later with backoff."""


class SourceAuthError(SourceError):
    """401/403 or missing credentials: skip this source until the rules are reloaded."""


class Source(Protocol):
    spec: SourceSpec

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        """Everything new since `state`, oldest first."""
        ...
