"""Kill -9 around the urgent search (issue 18): the poll that opens a storm's gap reads its
pages, then asks recent search for the gap's P1s, then stores all of it in one transaction.
Killed before each page, before the urgent search, and at database statements of the store
(the first, the middle, the last two), a restart on the same database polls until the gap is
closed: every post stored once, one card each, every P1 stored — and when nothing was killed,
the P1s deep in the gap were stored by the poll that opened it. Against the fake X over real
HTTP (its search filters by the query and the gap's `since_id`/`until_id`).
"""

from __future__ import annotations

import pytest

from bot.kit.db import make_engine, make_session_factory
from bot.listening.polling import PollOutcome, poll_source
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_x import FakeX
from tests.support.fault_scenarios import RULES
from tests.support.fault_world import Killed, Process
from tests.support.gap_networks import killable
from tests.support.urgent_storm import (
    LEGAL,
    NOW,
    SAFETY,
    before,
    doubled_cards,
    p1_stored,
    source,
    stored,
    storm,
)

BURST = 260  # pages of 100, 2 a poll: 200 read, a gap of 60 holding two of the three P1s
P1 = {3: LEGAL, 40: SAFETY, 250: LEGAL}


def poll(url: str, fake: FakeX, clock: Clock, process: Process | None = None) -> PollOutcome:
    """One poll by a process with its own engine and source: both die with the process."""
    engine = make_engine(url)
    x = source(fake, max_pages=2)
    if process is not None:
        process.attach(engine)
        killable(x, "_request", process)
        killable(x, "_urgent_page", process, kind="urgent")
    try:
        return poll_source(make_session_factory(engine), x, RULES, clock=clock)
    finally:
        engine.dispose()


def replay(url: str, process: Process) -> None:
    fake = FakeX().start()
    try:
        clock = Clock(NOW)
        before(fake)
        assert poll(url, fake, clock).new == 1  # the cursor
        clock.advance(60)
        p1 = storm(fake, BURST, clock.now, P1)
        if process.kill_at is None:
            opened = poll(url, fake, clock, process)
            assert opened.gap_open and opened.new == 202  # 200 newest and the gap's 2 P1s
        else:
            with pytest.raises(Killed):
                poll(url, fake, clock, process)
            assert process.fired, f"kill point {process.kill_at} was never reached"
            fault_figures.tried("kill points")
        engine = make_engine(url)  # the restart
        try:
            factory = make_session_factory(engine)
            if process.kill_at is None:
                assert p1_stored(factory) == p1  # all three before the backfill reached them
            for _ in range(6):
                clock.advance(12)
                outcome = poll_source(factory, source(fake, max_pages=2), RULES, clock=clock)
                assert outcome.status == "ok", outcome
                if not outcome.gap_open:
                    break
            ids, doubled, urgent = stored(factory), doubled_cards(factory), p1_stored(factory)
        finally:
            engine.dispose()
        expected = {p for p in map(str, fake.posts)}
        assert fault_figures.invariant("mentions lost", len(expected - set(ids))) == 0, ids
        assert fault_figures.invariant("duplicate cards", doubled
                                       + sum(n - 1 for n in ids.values())) == 0
        assert urgent == p1 and set(ids) == expected
    finally:
        fake.stop()


def test_a_crash_around_the_urgent_search_loses_nothing_and_doubles_nothing(fresh_db):
    dry = Process()
    replay(fresh_db(), dry)
    pages, searches, statements = dry.counts["page"], dry.counts["urgent"], dry.counts["db"]
    assert (pages, searches) == (2, 1) and statements >= 10, dry.counts
    plan = [("page", i) for i in range(1, pages + 1)] + [("urgent", 1)] + [
        ("db", k) for k in sorted({1, statements // 2, statements - 1, statements})]
    for point in plan:
        replay(fresh_db(), Process(point))
