"""PostgreSQL restarted under the bot: every server connection dropped at once — between
units of work, and in the middle of an ingest transaction. What a restart does to its clients
is exactly that (their sockets are closed; a new connection works once the server is back),
so it is injected with `pg_terminate_backend` on every session of the test database.

The pool's pre-ping finds dead connections and reconnects; a transaction cut in the middle
fails as a whole (the poll is recorded as a failure and backs off) and the next poll stores
everything once. No crash, no loop, nothing lost or doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening import polling
from bot.listening.polling import poll_source
from bot.networks.base import Fetch, SourceState
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_source import FakeSource, tweet
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
X_SEARCH = RULES.source("x-search")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def restart(url: str) -> int:
    """Drop every other connection to the database, as a server restart does; how many."""
    admin = create_engine(url, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            dropped = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    finally:
        admin.dispose()
    return int(dropped or 0)


def stored(factory) -> dict[str, int]:
    with session_scope(factory) as s:
        rows = s.execute(select(models.Mention.external_id, func.count())
                         .group_by(models.Mention.external_id)).all()
        cards = s.scalar(select(func.count()).select_from(models.OutboxMessage)
                         .where(models.OutboxMessage.kind == "card"))
    return {"mentions": len(rows), "doubled": sum(n - 1 for _, n in rows), "cards": cards or 0}


def test_connections_dropped_between_and_inside_units_of_work(backend, migrated_url,
                                                              monkeypatch):
    if backend != "postgres":
        pytest.skip("a server restart is a PostgreSQL matter (SQLite is a file)")
    engine = make_engine(migrated_url)  # the app's engine: pool_pre_ping on
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    first = Fetch([tweet(1), tweet(2)], SourceState("1002"), reads=2)
    second = Fetch([tweet(3), tweet(4)], SourceState("1004"), reads=2)
    source = FakeSource(X_SEARCH, [first, second, second])
    try:
        assert poll_source(factory, source, RULES, clock=clock).new == 2

        # 1. Between units of work: the pooled connections are dead; the next poll works.
        assert restart(migrated_url) >= 1
        fault_figures.tried("faults injected")
        clock.now += X_SEARCH.every
        real = polling.store_fetch

        # 2. Inside the store transaction: the mentions are inserted, then the server goes.
        def cut(session, *args, **kwargs):
            result = real(session, *args, **kwargs)
            restart(migrated_url)
            return result

        monkeypatch.setattr(polling, "store_fetch", cut)
        outcome = poll_source(factory, source, RULES, clock=clock)
        fault_figures.tried("faults injected")
        assert outcome.status == "unavailable" and "storing 2 mention(s) failed" in outcome.detail
        monkeypatch.setattr(polling, "store_fetch", real)
        assert stored(factory)["mentions"] == 2  # the cut transaction left nothing

        # The source backs off, then the same page is stored once.
        with session_scope(factory) as s:
            row = s.get(models.Source, "x-search")
            assert row.failures == 1 and row.cursor == "1002"
            clock.now = row.next_run_at + timedelta(seconds=1)
        assert poll_source(factory, source, RULES, clock=clock).new == 2
        got = stored(factory)
        assert fault_figures.invariant("mentions lost", 4 - got["mentions"]) == 0
        assert fault_figures.invariant("duplicate cards", got["cards"] - got["mentions"]) == 0
        assert got["doubled"] == 0
    finally:
        engine.dispose()
