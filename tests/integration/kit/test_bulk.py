"""bot.kit.bulk on SQLite (one Core INSERT) and PostgreSQL (COPY with ids drawn first): the same
rows read back, ids in row order, Python-side defaults filled as a Core INSERT fills them, and
nothing kept when the transaction rolls back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.kit import bulk, models
from bot.kit.db import make_session_factory, session_scope

NOW = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
A, M, OUT = models.Author.__table__, models.Mention.__table__, models.OutboxMessage.__table__


def authors(n: int, first: int = 0) -> list[dict]:
    return [{"network": "x", "handle": f"h{first + i}", "name": f"Name’s {i}\t\\ \"q\"",
             "external_id": None, "followers": i * 7, "author_type": "customer",
             "first_seen_at": NOW, "last_seen_at": NOW, "mention_count": 1} for i in range(n)]


def mention_rows(author_id: int, n: int) -> list[dict]:
    return [{"network": "x", "external_id": str(900 + i), "author_id": author_id,
             "text": f"line one\nline two \\N {i} 🙂", "created_at": NOW, "ingested_at": NOW,
             "compound": -0.25, "sentiment": "negative", "author_type": "customer",
             "score": 40 + i, "score_parts": {"reach": i, "risk": 0}, "priority": "P3",
             "team": "support", "risk": ["legal"] if i % 2 else [], "matched_rules": [],
             "extra": {"lang": None, "n": [1, 2]}, "status": "new", "version": 0}
            for i in range(n)]


def test_insert_ids_returns_ids_in_row_order_and_rows_read_back_as_given(engine):
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        ids = bulk.insert_ids(s, A, authors(5), key=("network", "handle"))
    assert len(ids) == 5 and ids == sorted(ids)
    with session_scope(factory) as s:
        got = {r.id: r for r in s.execute(select(A))}
    for i, author_id in enumerate(ids):
        row = got[author_id]
        assert (row.handle, row.name, row.followers) == (f"h{i}", f"Name’s {i}\t\\ \"q\"", i * 7)
        assert row.first_seen_at == NOW


def test_json_text_and_defaults_match_a_core_insert(engine):
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        [author_id] = bulk.insert_ids(s, A, authors(1), key=("network", "handle"))
        rows = mention_rows(author_id, 3)
        ids = bulk.insert_ids(s, M, rows[:2], key=("network", "external_id"))
        # The reference: SQLAlchemy's own INSERT of the third row.
        ref = s.execute(insert(M).returning(M.c.id), rows[2:]).scalar_one()
        bulk.insert_all(s, OUT, [{"kind": "card", "channel": "C1", "mention_id": i,
                                "priority": "P3", "payload": {}, "state": "pending",
                                "attempts": 0, "not_before": NOW, "created_at": NOW,
                                "dedupe_key": f"card:{i}"} for i in ids])
    with session_scope(factory) as s:
        got = {m["id"]: m for m in s.execute(select(M)).mappings()}
        cards = s.execute(select(OUT.c.mention_id, OUT.c.payload, OUT.c.dedupe_key)
                          .order_by(OUT.c.id)).all()
    for mention_id, row in zip(ids, rows, strict=False):
        stored = got[mention_id]
        for key, value in row.items():
            assert stored[key] == value, key
    # Every column a caller does not give is what a Core INSERT leaves there.
    reference = dict(got[ref])
    for mention_id in ids:
        for key in set(reference) - set(rows[0]) - {"id"}:
            assert got[mention_id][key] == reference[key], key
    assert [tuple(c) for c in cards] == [(i, {}, f"card:{i}") for i in ids]


def test_nothing_is_kept_when_the_transaction_rolls_back(engine):
    factory = make_session_factory(engine)
    with pytest.raises(RuntimeError), session_scope(factory) as s:
        bulk.insert_ids(s, A, authors(3), key=("network", "handle"))
        raise RuntimeError("crash before COMMIT")
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(A)) == 0
        # The ids drawn for the lost rows are not reused (a sequence never goes back), and
        # the next rows still get theirs in order.
        ids = bulk.insert_ids(s, A, authors(2, first=10), key=("network", "handle"))
    assert ids == sorted(ids) and len(set(ids)) == 2


def test_a_duplicate_key_fails_the_whole_batch(engine):
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        bulk.insert_ids(s, A, authors(2), key=("network", "handle"))
    # Reported as SQLAlchemy reports a driver's error, COPY or not: callers catch those.
    with pytest.raises(IntegrityError) as caught, session_scope(factory) as s:
        bulk.insert_ids(s, A, authors(3), key=("network", "handle"))
    assert "unique" in str(caught.value).lower() or "duplicate" in str(caught.value).lower()
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(A)) == 2


def test_a_connection_lost_during_copy_is_reported_and_not_pooled(engine, monkeypatch):
    if engine.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's path")
    import psycopg

    def lost(self, statement, *args, **kwargs):  # what a server restart mid-COPY leaves
        self.connection.close()
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(psycopg.Cursor, "copy", lost)
    factory = make_session_factory(engine)
    with pytest.raises(OperationalError) as caught, session_scope(factory) as s:
        bulk.insert_ids(s, A, authors(2), key=("network", "handle"))
    assert caught.value.connection_invalidated
    monkeypatch.undo()
    with session_scope(factory) as s:  # the pool hands out a working connection
        assert bulk.insert_ids(s, A, authors(1), key=("network", "handle"))
