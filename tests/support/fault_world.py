"""What the kill-point tests share: a process that can be killed at a counted point, a fake
X network with a since_id API, a fake network that takes replies.

A kill is `Killed`, a BaseException (no `except Exception` in the bot swallows it, as nothing
survives a SIGKILL), and from that moment the `Process` is dead: every later database
statement or network call of that process raises `Killed` too, so no `finally`/`except
BaseException` clean-up can write anything a real kill -9 would not have let it write.
A "restart" is a new engine, new sessions, new clients, new sources on the same database and
the same (fake) network.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, event

from bot.domain.mention import Author, Mention
from bot.networks.base import Fetch, Lookup, Published, SourceState, Target


class Killed(BaseException):
    """kill -9 at this point."""


class Process:
    """Counts the kill points one "process" passes, by kind (`db`: every SQL statement and
    every COMMIT of its engines; `post`, `posted`: before/after a network call…), and dies at
    `kill_at = (kind, n)`."""

    def __init__(self, kill_at: tuple[str, int] | None = None) -> None:
        self.kill_at = kill_at
        self.counts: Counter[str] = Counter()
        self.dead = False

    def point(self, kind: str) -> None:
        if self.dead:
            raise Killed("the process is dead")
        self.counts[kind] += 1
        if self.kill_at == (kind, self.counts[kind]):
            self.dead = True
            raise Killed(f"killed at {kind} #{self.counts[kind]}")

    @property
    def fired(self) -> bool:
        return self.dead

    def attach(self, engine: Engine) -> Engine:
        """Kill points before every statement and every COMMIT sent on `engine`."""
        event.listen(engine, "before_cursor_execute",
                     lambda *args, **kw: self.point("db"))
        event.listen(engine, "commit", lambda conn: self.point("db"))
        return engine


def kill_plan(counts: Counter[str]) -> list[tuple[str, int]]:
    """Every point a complete run passed: `(kind, 1..n)` for each kind."""
    return [(kind, i) for kind in sorted(counts) for i in range(1, counts[kind] + 1)]


# --- a fake X: posts by id, `since_id` paging ------------------------------------------------

@dataclass
class FakeX:
    """The posts of a network; a poll asks for those at or after its cursor (X answers
    `since_id` exclusively, but pages overlap in practice: the inclusive bound makes every
    poll repeat the post at the cursor, which dedupe must drop)."""

    posts: list[Mention] = field(default_factory=list)
    fetches: int = 0

    def post(self, n: int, handle: str, text: str, at: datetime) -> Mention:
        m = Mention(network="x", external_id=str(1000 + n), text=text,
                    author=Author(handle=handle, name=handle.title(), followers=100 + n),
                    url=f"https://x.com/{handle}/status/{1000 + n}", created_at=at, lang="en",
                    source_id="x-search")
        self.posts.append(m)
        return m


@dataclass
class FakeXSource:
    """The Source protocol over `FakeX`, in one process (its network calls are kill points)."""

    spec: object
    network: FakeX
    process: Process | None = None

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        if self.process is not None:
            self.process.point("fetch")
        self.network.fetches += 1
        since = int(state.cursor) if state.cursor else 0
        page = [m for m in self.network.posts if int(m.external_id) >= since]
        cursor = max((m.external_id for m in page), key=int, default=state.cursor)
        return Fetch(page, SourceState(cursor=cursor), reads=len(page))


# --- a fake network that takes replies ----------------------------------------------------

@dataclass
class NetPost:
    id: str
    in_reply_to: str
    text: str
    key: str
    at: datetime


@dataclass
class FakeReplyNetwork:
    """The brand's replies as a network keeps them. `idempotent`: a repeated call with the same
    idempotency key returns the first post (Mastodon's `Idempotency-Key`, for an hour)."""

    network: str = "x"
    idempotent: bool = False
    posts: list[NetPost] = field(default_factory=list)
    calls: int = 0

    def publisher(self, process: Process, clock) -> FakePublisher:
        return FakePublisher(self, process, clock)


class FakePublisher:
    """`bot.networks.base.Publisher` on a FakeReplyNetwork. Kill points: `reply` (before the
    request leaves) and `replied` (the network made the post; the answer dies with us)."""

    def __init__(self, net: FakeReplyNetwork, process: Process, clock) -> None:
        self.net, self.process, self.clock = net, process, clock
        self.network = net.network
        self.retry_window = timedelta(minutes=55) if net.idempotent else None

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        self.process.point("reply")
        self.net.calls += 1
        post = next((p for p in self.net.posts if self.net.idempotent
                     and p.key == idempotency_key), None)
        if post is None:
            post = NetPost(str(9000 + len(self.net.posts)), target.external_id, text,
                           idempotency_key, self.clock())
            self.net.posts.append(post)
        self.process.point("replied")
        return Published(post.id, f"https://{self.network}.example/{post.id}")

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        self.process.point("lookup")
        found = [p for p in self.net.posts if p.in_reply_to == target.external_id
                 and p.at >= since - timedelta(minutes=1)]
        if found:
            return Lookup(Published(found[0].id, f"https://{self.network}.example/{found[0].id}"),
                          complete=True, note="found")
        return Lookup(None, complete=True, note="no reply found")

    def like(self, target: Target) -> None:  # pragma: no cover - not used here
        raise NotImplementedError

    def repost(self, target: Target) -> None:  # pragma: no cover - not used here
        raise NotImplementedError
