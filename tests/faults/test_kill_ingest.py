"""Kill -9 at every database statement and COMMIT of a poll (its read, its store transaction,
its commit), then a restart on the same database: every mention stored once, one card each,
authors counted once, the cursor where the committed mentions are.

The crash is a `Killed` raised from SQLAlchemy's `before_cursor_execute`/`commit` events at
the k-th operation, for k = 1..N where N is what a complete poll takes (counted by a dry run),
plus the network fetch itself; after it the "process" is dead (no later statement runs).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.kit.db import make_engine, make_session_factory
from bot.listening.polling import poll_source
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fault_scenarios import NOW, RULES, check_ingest, more_posts, x_network
from tests.support.fault_world import FakeX, FakeXSource, Killed, Process, kill_plan

SPEC = RULES.source("x-search")


def poll(url: str, x: FakeX, clock: Clock, process: Process | None = None):
    """One poll by a process with its own engine: the engine dies with the process."""
    engine = make_engine(url)
    if process is not None:
        process.attach(engine)
    try:
        return poll_source(make_session_factory(engine), FakeXSource(SPEC, x, process), RULES,
                           clock=clock)
    finally:
        engine.dispose()  # the kernel closes a killed process's sockets: its transaction aborts


def test_kill_at_every_point_of_a_poll_then_restart_stores_each_mention_once(fresh_db):
    # Dry run: how many kill points a complete second poll passes.
    url = fresh_db()
    x = x_network()
    clock = Clock(NOW)
    poll(url, x, clock)
    more_posts(x)
    dry = Process()
    outcome = poll(url, x, clock, dry)
    assert (outcome.status, outcome.new, outcome.duplicates) == ("ok", 3, 1)
    plan = kill_plan(dry.counts)
    assert dry.counts["db"] >= 10 and dry.counts["fetch"] == 1, dry.counts

    for point in plan:
        url = fresh_db()
        x = x_network()
        clock = Clock(NOW)
        poll(url, x, clock)
        more_posts(x)
        clock.now += timedelta(minutes=5)
        process = Process(point)
        with pytest.raises(Killed):
            poll(url, x, clock, process)
        assert process.fired, f"kill point {point} was never reached"
        fault_figures.tried("kill points")

        clock.now += timedelta(minutes=5)  # restart: a new process polls the same database
        after = poll(url, x, clock)
        assert after.status == "ok", (point, after)
        check_ingest(url, x)
        clock.now += timedelta(minutes=5)  # and once more: nothing new, nothing repeated
        assert poll(url, x, clock).new == 0
        check_ingest(url, x)
