"""The one small interface every network adapter implements.

A source fetches what is new since its saved state and returns normalised mentions plus the
state to save next. It never writes to the database: ingest stores the mentions and the new
state in one transaction, so a crash between the two repeats a fetch instead of losing one.

Failures are raised as the three exceptions below so the scheduler can treat every network
the same way: wait until a reset time, back off, or mark the source unhealthy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import requests

from bot.domain.mention import Mention
from bot.domain.rules.schema import SourceSpec


@dataclass(frozen=True, slots=True)
class Watched:
    """A conversation the desk holds a card in, for a network whose listing would not show a
    late reply in it (YouTube lists threads by their first comment; Threads lists only the
    posts that @-mention the brand)."""

    conversation_id: str
    since: datetime  # the oldest post the desk has of it: replies before it are not news


@dataclass(frozen=True, slots=True)
class SourceState:
    """What a source remembers between polls (columns of the `source` table), and the
    conversations to watch when the source `follows_conversations`."""

    cursor: str | None = None  # X/Mastodon since_id, Bluesky cursor or newest indexedAt
    etag: str | None = None  # RSS conditional GET
    last_modified: str | None = None  # RSS conditional GET
    backfill: str | None = None  # gaps a page cap left, read by the next polls (networks.gaps)
    watch: tuple[Watched, ...] = ()  # newest activity first (bot.listening.watching)
    # Conversation → the newest reply the polls have read of it (JSON, the source's own form):
    # the next top-down read stops there (bot.networks.threads.conversations).
    marks: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A post the adapter could not turn into a `Mention` (its parser raised): kept raw by
    ingest's quarantine, so the rest of the page is stored and the cursor moves on."""

    network: str
    raw: str  # the post as the network sent it (JSON, XML…), for a human to read
    reason: str
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Fetch:
    mentions: list[Mention]
    state: SourceState  # save this with the mentions, in the same transaction
    reads: int = 0  # posts read (X bills per post read)
    not_modified: bool = False  # RSS 304
    notes: list[str] = field(default_factory=list)  # e.g. "page cap reached, 300 more"
    rejected: list[Rejected] = field(default_factory=list)  # posts the parser refused
    backfill_reads: int = 0  # of `reads`, the posts read to close gaps (their cost is shown)


class SourceError(Exception):
    """Base of what a source may raise; anything else is a bug in the adapter."""


class RateLimited(SourceError):
    """The network said 429; do not call again before `reset_at` (UTC).

    `from_network`: the time came from the network's answer (a reset header), which the
    poller does not trust beyond `bot.listening.polling.MAX_RATE_WAIT`; False when the adapter
    computed it from a documented rule (YouTube's quota resets at midnight Pacific)."""

    from_network = True

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


# --- Publishing: replies, likes, reposts ------------------------------------------------
# What every publisher shares: the target, the result, the errors, and
# the small `Publisher` protocol.
#
# A `PublishError.kind` says what the desk may do next:
#
#     rejected     the network refused this reply (too long, post deleted, not allowed to reply,
#                  duplicate text): nothing was posted; a human may redraft
#     unavailable  nothing was posted (rate limited, could not connect): send again later
#     auth         credentials missing or refused: nothing was posted; fix the settings
#     maybe_sent   the request may have reached the network and we cannot tell (timeout after
#                  sending, 5xx, X's 403 "duplicate content"): never retry blindly, reconcile

ErrorKind = Literal["rejected", "unavailable", "auth", "maybe_sent"]
NOT_SENT: frozenset[str] = frozenset({"rejected", "unavailable", "auth"})


class PublishError(Exception):
    def __init__(self, kind: ErrorKind, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")

    @property
    def surely_not_sent(self) -> bool:
        return self.kind in NOT_SENT


class HasHandle(Protocol):
    @property
    def handle(self) -> str: ...


class MentionRecord(Protocol):
    """What `Target.of` reads of a stored mention: the desk passes its database row."""

    @property
    def network(self) -> str: ...

    @property
    def external_id(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    @property
    def author(self) -> HasHandle | None: ...

    @property
    def extra(self) -> Mapping[Any, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """The post being answered, liked or reposted: what the adapters need of a mention."""

    network: str
    external_id: str  # tweet id, Mastodon status id (on the brand's instance), at:// uri
    url: str | None = None
    author_handle: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, mention: MentionRecord) -> Target:
        return cls(network=mention.network, external_id=mention.external_id, url=mention.url,
                   author_handle=mention.author.handle if mention.author else "",
                   extra={str(k): str(v) for k, v in (mention.extra or {}).items()})


@dataclass(frozen=True, slots=True)
class Published:
    network_id: str  # the new post's id on the network (tweet id, status id, at:// uri)
    url: str | None
    # What the reply took the place of, for the send's audit event (an App Store review has
    # one response: a new one deletes the old); "" when nothing.
    replaced: str = ""


@dataclass(frozen=True, slots=True)
class Lookup:
    """What `Publisher.find_reply` saw: the brand's reply when found; `complete` when the
    search covered everything since the send intent (so "not found" means "not sent")."""

    found: Published | None
    complete: bool
    note: str = ""


class Publisher(Protocol):
    """One network's write side. Every method raises `PublishError` and nothing else."""

    network: str
    # How long the network itself deduplicates a repeated `reply` with the same idempotency
    # key (Mastodon: 1 h); None when it doesn't, and a retry could post twice.
    retry_window: timedelta | None

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published: ...

    def like(self, target: Target) -> None: ...

    def repost(self, target: Target) -> None: ...

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        """The brand's own reply to `target` posted at or after `since`, if any."""
        ...


def connection_never_made(exc: BaseException) -> bool:
    """True when a requests/urllib3 failure happened before any byte of the request was sent
    (DNS, refused connection, connect timeout): the post surely was not made."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc.args[0] if exc.args else exc)
        return any(s in text for s in ("NewConnectionError", "NameResolutionError",
                                       "Failed to establish a new connection",
                                       "ConnectTimeoutError"))
    return False
