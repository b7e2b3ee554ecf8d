"""Rows for the outbox tests, added straight to the database as ingest and the desk leave
them: `queue()` one outbox row (a card gets a new mention of its own), `cards()` several."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from bot.kit.db import session_scope
from bot.kit.models import Author, Mention, OutboxMessage

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # when the rows are created and due
_ext = count(1)


def add_mention(s, *, priority: str = "P4", status: str = "new", **extra) -> Mention:
    n = next(_ext)
    author = Author(network="x", handle=f"author{n}", name=f"Author {n}", followers=10,
                    author_type="customer")
    mention = Mention(network="x", external_id=f"ob-{n}", text=f"post {n}", author=author,
                      compound=-0.5, sentiment="negative", author_type="customer", score=40,
                      priority=priority, team="support", status=status, ingested_at=NOW,
                      **extra)
    s.add(mention)
    s.flush()
    return mention


def queue(factory, kind: str = "card", *, channel: str = "C1", priority: str = "P4",
          mention_id: int | None = None, at: datetime = NOW, **row) -> int:
    """One outbox row (and for a card without `mention_id`, a new mention): its id."""
    with session_scope(factory) as s:
        if mention_id is None and kind in ("card", "update", "thread"):
            mention_id = add_mention(s, priority=priority).id
        msg = OutboxMessage(kind=kind, channel=channel, priority=priority, mention_id=mention_id,
                            payload=row.pop("payload", {}), state=row.pop("state", "pending"),
                            not_before=row.pop("not_before", at), created_at=at, **row)
        s.add(msg)
        s.flush()
        return msg.id


def cards(factory, n: int, **kw) -> list[int]:
    return [queue(factory, **kw) for _ in range(n)]
