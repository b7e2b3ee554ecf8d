"""Housekeeping deletes what is done with and nothing else, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.kit import housekeeping, models
from bot.kit.db import make_session_factory, session_scope

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_old_done_rows_go_the_rest_stay(engine, monkeypatch):
    monkeypatch.setattr(housekeeping, "BATCH", 2)  # several batches
    factory = make_session_factory(engine)
    ages = {"sent": (31, 29), "failed": (91, 89), "pending": (400,), "sending": (400,),
            "folded": (400,)}
    with session_scope(factory) as s:
        for n, days in enumerate((2, 2, 2, 0)):
            s.add(models.ProcessedEvent(event_id=f"Ev{n}", received_at=NOW - timedelta(days=days)))
        for state, days_list in ages.items():
            for days in days_list:
                for _ in range(3):
                    s.add(models.OutboxMessage(
                        kind="card", channel="C0CARE00001", priority="P4", payload={},
                        state=state, created_at=NOW - timedelta(days=days),
                        not_before=NOW - timedelta(days=days)))
    pruned = housekeeping.prune(factory, NOW)
    assert (pruned.events, pruned.outbox) == (3, 6)
    with session_scope(factory) as s:
        assert s.scalars(select(models.ProcessedEvent.event_id)).all() == ["Ev3"]
        left = sorted((o.state, (NOW - o.created_at).days)
                      for o in s.scalars(select(models.OutboxMessage)))
    assert left == sorted([("sent", 29)] * 3 + [("failed", 89)] * 3 + [("pending", 400)] * 3
                          + [("sending", 400)] * 3 + [("folded", 400)] * 3)
    assert housekeeping.prune(factory, NOW) == housekeeping.Pruned(0, 0)  # nothing twice
