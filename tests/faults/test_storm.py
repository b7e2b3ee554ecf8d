"""A storm of mentions at once (issue 18, break 1): the X source read its page cap (5 pages,
500 posts), logged at INFO and moved its cursor past the rest — 2,500 of 3,000 mentions, 2 of
3 legal threats, never stored. Now the cap leaves a gap the next polls read (a WARNING names
it; `check --live` and `/social status` show it and its cost), and every mention is stored
once and every P1 card posted. At a smaller scale here (1,200 at once), against the fake X
over real HTTP and the fake Slack; `bench/storm.py` runs 3,000 and prints the figures.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.domain.rules.urgent import urgent_cues
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.health import source_health
from bot.listening.polling import poll_source
from bot.networks.x.source import XMentionsSource
from bot.outbox import OutboxSender, sender_client
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.fake_x import BRAND_ID, FakeX, snowflake
from tests.support.fault_scenarios import RULES, render_card

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPEC = RULES.source("x-mentions")
STORM = 1200
LEGAL = "@NorthwindAir I will sue you, my lawyer is ready"


def storm(fake: FakeX, n: int, at: datetime) -> set[str]:
    """`n` mentions posted within a minute before `at`, three of them legal threats (the
    newest, one in the middle, the oldest): their ids."""
    p1 = {0, n // 2, n - 1}
    for i in range(n):
        uid = str(10_000 + i % 700)  # 700 authors, some writing twice
        fake.user(uid, f"customer{i % 700}", followers=50 + i)
        pid = snowflake(at - timedelta(seconds=60) + timedelta(milliseconds=50 * i), i % 4096)
        fake.post(pid, LEGAL if i in p1 else f"Loving the new lounge @NorthwindAir, visit {i}",
                  uid, at - timedelta(seconds=60) + timedelta(milliseconds=50 * i))
    return {str(p) for p in fake.posts}


def test_a_storm_bigger_than_the_page_cap_is_stored_whole_and_every_p1_posted(engine, caplog):
    fake = FakeX().start()
    slack = None
    try:
        factory = make_session_factory(engine)
        clock = Clock(NOW)
        source = XMentionsSource(SPEC, RULES.brand, fake.client(), brand_user_id=BRAND_ID)
        fake.user("9", "early")
        fake.post(snowflake(NOW - timedelta(minutes=30)), "@NorthwindAir morning!", "9",
                  NOW - timedelta(minutes=30))
        assert poll_source(factory, source, RULES, clock=clock).new == 1  # the cursor
        clock.advance(60)
        expected = storm(fake, STORM, clock.now)
        polls, gap_seen = 0, False
        with caplog.at_level(logging.WARNING):
            while True:
                outcome = poll_source(factory, source, RULES, clock=clock)
                polls += 1
                assert outcome.status == "ok", outcome
                with session_scope(factory) as s:
                    row = s.get(models.Source, SPEC.id)
                    if row.backfill:
                        gap_seen = True
                        health = {h.id: h for h in source_health(s, RULES, clock.now)}[SPEC.id]
                        assert "backfilling a gap since" in health.line()
                        assert health.gap_cost is not None and health.gap_reads >= 0
                if row.backfill is None:
                    break
                assert polls < 10
                clock.advance(SPEC.every.total_seconds())
        fault_figures.tried("faults injected")
        assert gap_seen and polls == 3  # 500 + 400 + 300: a page each poll for the new ones
        assert "gap open" in caplog.text
        with session_scope(factory) as s:
            stored = Counter(s.scalars(select(models.Mention.external_id)))
            p1 = dict(s.execute(select(models.Mention.id, models.Mention.external_id)
                                .where(models.Mention.priority == "P1")).all())
            cards = s.scalar(select(func.count()).select_from(models.OutboxMessage))
            reads = s.scalar(select(func.sum(models.SourceUsage.reads)))
        assert fault_figures.invariant("mentions lost", len(expected - set(stored))) == 0
        assert fault_figures.invariant("duplicate cards", sum(n - 1 for n in stored.values())
                                       + cards - len(stored)) == 0
        assert len(stored) == STORM + 1 and len(p1) == 3
        assert reads == STORM + 1  # each post read (and billed) once, the gap included

        slack = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()
        slack.rate_limit_posts(1.0, 3, clock=lambda: clock.now.timestamp())
        sender = OutboxSender(factory, sender_client("xoxb-storm", slack.api_url, timeout=5),
                              render_card, clock)
        for _ in range(60):  # two minutes of the sender's rounds
            sender.run_once(clock.now)
            clock.advance(2)
        posted = {m["metadata"]["event_payload"].get("mention_id") for m in slack.posts()}
        assert fault_figures.invariant("mentions lost", len(set(p1) - posted)) == 0, posted
    finally:
        fake.stop()
        if slack is not None:
            slack.stop()


def test_the_monthly_budget_defers_a_gap_and_never_drops_it(engine):
    """A storm that spends the budget: polling pauses until the next month, the gap is kept,
    and the next month's polls read it (the cost cap defers, it does not drop)."""
    fake = FakeX().start()
    try:
        factory = make_session_factory(engine)
        clock = Clock(NOW)
        source = XMentionsSource(SPEC, RULES.brand, fake.client(), brand_user_id=BRAND_ID)
        fake.user("9", "early")
        fake.post(snowflake(NOW - timedelta(minutes=30)), "@NorthwindAir morning!", "9",
                  NOW - timedelta(minutes=30))
        poll_source(factory, source, RULES, clock=clock)
        allowance = int(SPEC.monthly_budget / SPEC.cost_per_read)
        with session_scope(factory) as s:  # the month's reads so far: all but the storm's 500
            s.add(models.SourceUsage(source_id=SPEC.id, day=NOW.date().replace(day=1),
                                     reads=allowance - 501))
        clock.advance(60)
        expected = storm(fake, 800, clock.now)
        assert poll_source(factory, source, RULES, clock=clock).new == 500  # gap: 300 left
        clock.advance(SPEC.every.total_seconds() * 3)
        paused = poll_source(factory, source, RULES, clock=clock)
        assert paused.status == "budget", paused
        with session_scope(factory) as s:
            row = s.get(models.Source, SPEC.id)
            assert row.backfill and row.next_run_at == datetime(2026, 12, 1, tzinfo=UTC)
        clock.now = datetime(2026, 12, 1, 0, 1, tzinfo=UTC)
        resumed = poll_source(factory, source, RULES, clock=clock)
        assert (resumed.status, resumed.new, resumed.gap_open) == ("ok", 300, False)
        with session_scope(factory) as s:
            stored = set(s.scalars(select(models.Mention.external_id)))
        fault_figures.tried("faults injected")
        assert fault_figures.invariant("mentions lost", len(expected - stored)) == 0
    finally:
        fake.stop()


def test_with_the_urgent_search_every_p1_card_of_a_storm_is_posted_within_two_minutes(engine):
    """The P1s sit deep in the gap (the oldest and the middle one): the urgent search asks
    recent search for the rules' P1 cues within the gap in the poll that opens it, so their
    cards go out with the first poll's, while the backlog is still being read."""
    clock = Clock(NOW)
    fake = FakeX().start()
    slack = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()
    try:
        factory = make_session_factory(engine)
        source = XMentionsSource(SPEC, RULES.brand, fake.client(), brand_user_id=BRAND_ID,
                                 urgent=urgent_cues(RULES, network="x", source_id=SPEC.id))
        fake.user("9", "early")
        fake.post(snowflake(NOW - timedelta(minutes=30)), "@NorthwindAir morning!", "9",
                  NOW - timedelta(minutes=30))
        poll_source(factory, source, RULES, clock=clock)
        clock.advance(60)
        storm_at = clock.now
        storm(fake, STORM, storm_at)
        slack.rate_limit_posts(1.0, 3, clock=lambda: clock.now.timestamp())
        sender = OutboxSender(factory, sender_client("xoxb-storm", slack.api_url, timeout=5),
                              render_card, clock)
        gap_open, next_poll, p1, all_posted = True, clock.now, set(), None
        while clock.now < storm_at + timedelta(minutes=2):
            if gap_open and clock.now >= next_poll:  # as `socialbot run` hurries a gap
                gap_open = poll_source(factory, source, RULES, clock=clock).gap_open
                next_poll = clock.now + source.backfill_every
                with session_scope(factory) as s:
                    p1 = set(s.scalars(select(models.Mention.id)
                                       .where(models.Mention.priority == "P1")))
            sender.run_once(clock.now)
            posted = {m["metadata"]["event_payload"].get("mention_id") for m in slack.posts()}
            if all_posted is None and len(p1) == 3 and p1 <= posted:
                all_posted = clock.now
            clock.advance(1)
        fault_figures.tried("faults injected")
        assert fault_figures.invariant("mentions lost", len(p1 - posted)) == 0, posted
        # before the second poll: none of them waited for the backfill to reach it
        assert all_posted is not None and all_posted - storm_at < source.backfill_every
    finally:
        fake.stop()
        slack.stop()
