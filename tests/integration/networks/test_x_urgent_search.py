"""The urgent search (issue 18): while an X gap is open, one recent-search request a gap asks
for the rules' P1 cues within the gap's bounds, so P1s deep in a storm are stored (and carded)
by the poll that opened the gap, not minutes later; the backfill reaching them later stores
and cards nothing twice. Against the fake X over real HTTP (its search filters by the query)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.domain.rules.urgent import urgent_cues
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.health import source_health
from bot.listening.polling import poll_source
from bot.networks.gaps import load
from bot.networks.x.source import XSearchSource
from tests.support.clock import Clock
from tests.support.fake_x import FakeX
from tests.support.fault_scenarios import RULES
from tests.support.urgent_storm import (
    LEGAL,
    NOW,
    SAFETY,
    SPEC,
    before,
    doubled_cards,
    p1_stored,
    source,
    stored,
    storm,
)

SEARCH = "/2/tweets/search/recent"


def searches(fake: FakeX) -> list[dict[str, str]]:
    return [c.params for c in fake.calls if c.path == SEARCH]


def cursor_polled(engine, fake: FakeX, **kw) -> tuple:
    """(factory, clock, source) after the poll that stored the post before the storm."""
    factory = make_session_factory(engine)
    clock = Clock(NOW)
    x = source(fake, **kw)
    before(fake)
    assert poll_source(factory, x, RULES, clock=clock).new == 1
    return factory, clock, x


def test_p1s_deep_in_a_storm_are_stored_by_the_poll_that_opens_the_gap(engine):
    fake = FakeX().start()
    try:
        factory, clock, x = cursor_polled(engine, fake)
        cursor = max(int(i) for i in stored(factory))
        clock.advance(60)
        p1 = storm(fake, 1200, clock.now, {0: LEGAL, 600: SAFETY, 1199: LEGAL})
        first = poll_source(factory, x, RULES, clock=clock)
        assert first.gap_open and first.new == 502  # 500 newest, and the 2 P1s below them
        assert p1_stored(factory) == p1
        [query] = searches(fake)
        assert query["query"].startswith("@NorthwindAir (sue OR lawsuit OR ")
        assert '"emergency landing"' in query["query"] and "from:skiftnews" in query["query"]
        with session_scope(factory) as s:
            row = s.get(models.Source, SPEC.id)
            gap = load(row.backfill)[0]
            assert (query["since_id"], query["until_id"]) == (str(cursor), gap.older_than)
            assert gap.searched == 1 and gap.urgent_reads == 2
            assert row.backfill_reads == 2  # the gap's cost so far: the urgent search's reads
            line = {h.id: h for h in source_health(s, RULES, clock.now)}[SPEC.id].line()
            assert "2 posts read to close it ($0.01), 2 of them by the urgent search" in line
        while first.gap_open:
            clock.advance(12)
            first = poll_source(factory, x, RULES, clock=clock)
            assert first.status == "ok"
        ids = stored(factory)
        assert len(ids) == 1201 and max(ids.values()) == 1
        assert doubled_cards(factory) == 0
        assert len(searches(fake)) == 1  # one request for the gap: 2 matches fit one page
        with session_scope(factory) as s:
            reads = s.scalar(select(func.sum(models.SourceUsage.reads)))
        assert reads == 1201 + 2  # the 2 P1s read twice: by the urgent search and the backfill
    finally:
        fake.stop()


def test_more_matches_than_a_page_continue_below_at_the_next_poll(engine):
    fake = FakeX().start()
    try:
        factory, clock, x = cursor_polled(engine, fake, max_pages=2)
        clock.advance(60)
        p1 = storm(fake, 500, clock.now, {i: f"{LEGAL} #{i}" for i in range(0, 300)})
        poll_source(factory, x, RULES, clock=clock)  # 200 fresh (no P1), 100 of 300 P1s
        assert len(p1_stored(factory)) == 100
        clock.advance(12)
        poll_source(factory, x, RULES, clock=clock)  # the backfill's page, 100 more P1s
        assert len(p1_stored(factory)) == 200 and len(searches(fake)) == 2
        assert int(searches(fake)[1]["until_id"]) < int(searches(fake)[0]["until_id"])
        while poll_source(factory, x, RULES, clock=clock).gap_open:
            clock.advance(12)
        assert p1_stored(factory) == p1 and len(stored(factory)) == 501
        assert doubled_cards(factory) == 0
    finally:
        fake.stop()


def test_a_refused_or_limited_urgent_search_never_fails_the_poll(engine):
    fake = FakeX().start()
    try:
        factory, clock, x = cursor_polled(engine, fake)
        clock.advance(60)
        storm(fake, 2000, clock.now, {0: LEGAL})
        reset = int((clock.now + timedelta(minutes=3)).timestamp())
        outcome = _poll_with_search_failure(fake, factory, x, clock, 429,
                                            {"x-rate-limit-reset": str(reset)})
        assert outcome.status == "ok" and outcome.new == 500 and outcome.gap_open
        assert "urgent search for P1s skipped" in outcome.detail
        clock.advance(12)
        poll_source(factory, x, RULES, clock=clock)  # before the reset: no search
        assert len(searches(fake)) == 1
        clock.now = clock.now + timedelta(minutes=3)
        poll_source(factory, x, RULES, clock=clock)
        assert len(searches(fake)) == 2 and len(p1_stored(factory)) == 1
    finally:
        fake.stop()


def _poll_with_search_failure(fake, factory, x, clock, status, headers):
    """A poll whose recent-search request (after the mentions pages) fails with `status`."""
    read = x._urgent_page  # noqa: SLF001  # the failure is armed right before the search

    def failing(*args, **kw):
        fake.fail(status, headers=headers)
        return read(*args, **kw)

    x._urgent_page = failing  # noqa: SLF001
    try:
        return poll_source(factory, x, RULES, clock=clock)
    finally:
        del x._urgent_page  # noqa: SLF001


def test_a_search_source_counts_the_urgent_request_in_its_pace():
    fake = FakeX().start()
    try:
        spec = RULES.source("x-search")
        plain = XSearchSource(spec, RULES.brand, fake.client())
        hurried = source(fake)  # a mentions source: recent search is another endpoint
        searching = XSearchSource(spec, RULES.brand, fake.client(),
                                  urgent=urgent_cues(RULES, network="x", source_id=spec.id))
        assert searching.urgent_queries[0].startswith(f"({spec.query}) (sue OR ")
        assert plain.backfill_every == hurried.backfill_every
        assert abs(plain.backfill_every.total_seconds() - 100 / 9) < 1e-3  # 5 requests a poll
        assert abs(searching.backfill_every.total_seconds() - 120 / 9) < 1e-3  # 6
    finally:
        fake.stop()


def test_the_fake_counts_each_endpoints_rate_limit_like_x(engine):
    clock = Clock(NOW)
    fake = FakeX(clock=lambda: clock.now.timestamp(), limits={"mentions": 3, "search": 2}
                 ).start()
    try:
        factory = make_session_factory(engine)
        x = source(fake, max_pages=1)
        before(fake)
        for _ in range(3):
            assert poll_source(factory, x, RULES, clock=clock).status == "ok"
        limited = poll_source(factory, x, RULES, clock=clock)
        assert limited.status == "rate_limited" and fake.refused["mentions"] == 1
        assert fake.peak == {"mentions": 3}
        clock.advance(15 * 60)
        with session_scope(factory) as s:  # the reset X gave: the window's end
            assert s.get(models.Source, SPEC.id).next_run_at == NOW + timedelta(minutes=15)
        assert poll_source(factory, x, RULES, clock=clock).status == "ok"
    finally:
        fake.stop()
