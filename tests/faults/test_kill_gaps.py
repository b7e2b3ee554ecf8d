"""Kill -9 while a source backfills a gap (issue 18): before each page a poll reads (between
two pages of one poll: the earlier ones read, nothing of them stored) and at database
statements of its store transaction (the first, the middle, the last two: the gap's new
bounds are written with the cursor and the mentions, in the same COMMIT). Then a restart on
the same database polls until the gap is closed: every post of the burst stored once, one card
at most each, whatever the network's paging (Reddit `after`, YouTube `pageToken` and a busy
thread's replies, Google Play
`token`, App Store `links.next`, Graph `after` for Threads and Facebook/Instagram comments,
Bluesky's search cursor, Mastodon's `max_id`), against each network's fake over real HTTP
(tests/support/gap_networks.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.polling import PollOutcome, poll_source
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fault_world import Killed, Process
from tests.support.gap_networks import CASES, NOW, T0, Case, killable
from tests.support.gap_storm import drain, rules_with, stored_posts

BURST = 13  # with pages of 5, 2 a poll: 10 read, a gap of 3 (and the cursor's own post)


def poll(url: str, case: Case, clock: Clock, process: Process | None = None) -> PollOutcome:
    """One poll by a process with its own engine and source: both die with the process."""
    engine = make_engine(url)
    source = case.source()
    if process is not None:
        process.attach(engine)
        killable(source, case.page_method, process)
    try:
        return poll_source(make_session_factory(engine), source, rules_with(case.spec),
                           clock=clock)
    finally:
        engine.dispose()  # the kernel closes a killed process's sockets: its transaction aborts


def replay(url: str, network: str, process: Process) -> None:
    """A cursor, a burst that opens a gap, two newer posts, the backfilling poll by `process`
    (killed at its point, if it has one), then a restart polls until the gap is closed."""
    case = CASES[network]()
    try:
        clock = Clock(NOW)
        case.post(0, T0)
        assert poll(url, case, clock).new == 1  # the cursor
        for i in range(1, BURST + 1):
            case.post(i, T0 + 60 + i)
        clock.advance(case.spec.every.total_seconds())
        assert poll(url, case, clock).gap_open
        case.post(BURST + 1, T0 + 600)
        case.post(BURST + 2, T0 + 601)
        clock.advance(case.spec.every.total_seconds())
        if process.kill_at is None:
            assert poll(url, case, clock, process).status == "ok"
        else:
            with pytest.raises(Killed):
                poll(url, case, clock, process)
            assert process.fired, f"kill point {process.kill_at} was never reached"
            fault_figures.tried("kill points")
            clock.advance(case.spec.every.total_seconds())
        engine = make_engine(url)  # the restart
        try:
            factory = make_session_factory(engine)
            drain(factory, case.source(), clock)
            ids = stored_posts(factory, case.spec.id)
            with session_scope(factory) as s:
                doubled = s.scalar(select(func.count()).select_from(
                    select(models.OutboxMessage.mention_id)
                    .where(models.OutboxMessage.kind == "card")
                    .group_by(models.OutboxMessage.mention_id)
                    .having(func.count() > 1).subquery()))
        finally:
            engine.dispose()
        expected = case.ids(BURST + 3)
        assert fault_figures.invariant("mentions lost", len(expected - set(ids))) == 0, ids
        assert fault_figures.invariant("duplicate cards", doubled
                                       + sum(n - 1 for n in ids.values())) == 0
        assert set(ids) == expected
    finally:
        case.stop()


@pytest.mark.parametrize("network", sorted(CASES))
def test_a_crash_between_pages_of_a_backfill_loses_nothing_and_doubles_nothing(fresh_db,
                                                                               network):
    dry = Process()
    replay(fresh_db(), network, dry)
    pages, statements = dry.counts["page"], dry.counts["db"]
    assert pages >= 2 and statements >= 10, dry.counts  # a new page and a gap's page at least
    plan = [("page", i) for i in range(1, pages + 1)] + [
        ("db", k) for k in sorted({1, statements // 2, statements - 1, statements})]
    for point in plan:
        replay(fresh_db(), network, Process(point))


def gaps_after_the_burst(url: str, network: str) -> str:
    """The `backfill` the burst's poll leaves on the source row (the replay's first steps)."""
    case = CASES[network]()
    try:
        clock = Clock(NOW)
        case.post(0, T0)
        poll(url, case, clock)
        for i in range(1, BURST + 1):
            case.post(i, T0 + 60 + i)
        clock.advance(timedelta(minutes=5).total_seconds())
        poll(url, case, clock)
        engine = make_engine(url)
        try:
            with session_scope(make_session_factory(engine)) as s:
                row = s.get(models.Source, case.spec.id)
                assert row is not None and row.backfill
                return row.backfill
        finally:
            engine.dispose()
    finally:
        case.stop()


def test_the_gap_is_resumed_where_the_network_said(fresh_db):
    """Sanity of the replay itself: after the burst the gap's token is the network's own."""
    assert '"token": "t1_k4"' in gaps_after_the_burst(fresh_db(), "reddit")


def test_busy_threads_past_the_cap_wait_in_the_gaps(fresh_db):
    """Sanity of the busy-thread replay: the burst leaves busy threads in the gaps."""
    gaps = gaps_after_the_burst(fresh_db(), "youtube_busy")
    assert gaps.count('"scope": "replies:') == 5, gaps
