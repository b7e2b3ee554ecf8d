"""Outbox claims across replicas: `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so a row
another replica has locked is skipped (never waited on, never taken twice); SQLite (a single
writer) gets the same statements without the clause. Two senders draining one queue are in
tests/integration/outbox/test_outbox.py::test_two_senders_never_post_the_same_row (both
backends); two whole processes in tests/e2e/test_leader_replicas.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite

from bot.kit.db import make_session_factory, session_scope
from bot.kit.models import OutboxMessage
from bot.outbox import queue as q
from tests.support.outbox_rows import NOW, cards


def test_claims_skip_locked_rows_on_postgresql_only():
    ids = q.skip_locked(OutboxMessage.id.in_([1, 2]))
    assert "FOR UPDATE SKIP LOCKED" in str(ids.compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE" not in str(ids.compile(dialect=sqlite.dialect()))


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_row_locked_by_another_replica_is_skipped_not_waited_on(engine):
    factory = make_session_factory(engine)
    busy, free = cards(factory, 2, channel="C1")
    with factory() as other:  # another replica, mid-transaction on `busy`
        other.execute(text("SET lock_timeout = '5s'"))
        other.scalars(select(OutboxMessage).where(OutboxMessage.id == busy)
                      .with_for_update()).one()
        with session_scope(factory) as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail, not hang
            claimed = q.claim(s, [busy, free], NOW + timedelta(minutes=2))
        assert claimed == {free}
        other.rollback()
    with session_scope(factory) as s:  # released: now it can be claimed, once
        assert q.claim(s, [busy, free], NOW + timedelta(minutes=2)) == {busy}
    with session_scope(factory) as s:
        assert q.claim(s, [busy, free], NOW + timedelta(minutes=2)) == set()
