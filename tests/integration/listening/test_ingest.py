"""Ingest and polling on a real database (SQLite, and PostgreSQL when configured):
every mention stored once, cursor saved with its mentions, failures recorded per source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.domain.rules.load import load_rules
from bot.domain.rules.schema import SourceSpec
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.ingest import store_fetch
from bot.listening.polling import poll_source, reset_unhealthy
from bot.networks.base import (
    Fetch,
    RateLimited,
    SourceAuthError,
    SourceState,
    SourceUnavailable,
)
from bot.networks.youtube.source import QuotaSpent
from tests.support.clock import Clock
from tests.support.fake_source import FakeSource, tweet
from tests.support.paths import ROOT

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = load_rules(ROOT / "routing_rules.yaml")
X_SEARCH = RULES.source("x-search")
X_MENTIONS = RULES.source("x-mentions")  # has monthly_budget: 150


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


def count(factory, model) -> int:
    with session_scope(factory) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_fetch_is_stored_once_with_its_cursor(factory):
    fetch = Fetch([tweet(1), tweet(2), tweet(1)], SourceState(cursor="1002"), reads=3)
    with session_scope(factory) as s:
        first = store_fetch(s, X_SEARCH, fetch, RULES, now=NOW)
    assert (len(first.new_mention_ids), first.duplicates) == (2, 1)
    with session_scope(factory) as s:
        again = store_fetch(s, X_SEARCH, fetch, RULES, now=NOW)
    assert (again.new_mention_ids, again.duplicates) == ([], 3)
    with session_scope(factory) as s:
        source = s.get(models.Source, "x-search")
        assert source.cursor == "1002" and source.last_success_at == NOW
        assert s.scalar(select(models.SourceUsage.reads)) == 6  # both fetches were billed
        author = s.scalars(select(models.Author)).one()
        assert (author.handle, author.mention_count, author.followers) == ("traveller", 2, 120)


def test_each_new_mention_is_scored_routed_and_queued_as_a_card(factory):
    legal = tweet(3, "@NorthwindAir I will sue you, my lawyer is ready", handle="angry")
    with session_scope(factory) as s:
        store_fetch(s, X_SEARCH, Fetch([legal], SourceState("1003")), RULES, now=NOW)
    with session_scope(factory) as s:
        m = s.scalars(select(models.Mention)).one()
        assert (m.team, m.priority, m.approval_required, m.status) == ("pr", "P1", True, "new")
        assert "legal threat" in m.matched_rules and "legal" in m.risk
        # The team's SLA clock starts at ingest (bot.domain.sla: business hours honoured).
        from bot.domain import sla
        timer = sla.timer(RULES, "pr", "P1", NOW)
        assert timer is not None
        assert (m.sla_due_at, m.sla_next_at) == (timer.due_at, timer.remind_at)
        card = s.scalars(select(models.OutboxMessage)).one()
        assert (card.kind, card.channel, card.priority, card.mention_id, card.state) == (
            "card", RULES.teams["pr"].channel, "P1", m.id, "pending")


def test_a_crash_before_commit_loses_nothing_and_repeats_nothing(factory):
    fetch = Fetch([tweet(4), tweet(5)], SourceState(cursor="1005"), reads=2)
    with pytest.raises(RuntimeError), session_scope(factory) as s:
        store_fetch(s, X_SEARCH, fetch, RULES, now=NOW)
        raise RuntimeError("killed between storing and committing")
    assert count(factory, models.Mention) == 0
    with session_scope(factory) as s:
        assert s.get(models.Source, "x-search") is None  # the cursor did not move either
    source = FakeSource(X_SEARCH, [fetch])
    assert poll_source(factory, source, RULES, clock=Clock(NOW)).new == 2
    assert count(factory, models.Mention) == 2 and count(factory, models.OutboxMessage) == 2


def test_staff_override_of_author_type_drives_routing(factory):
    with session_scope(factory) as s:
        s.add(models.Author(network="x", handle="traveller", author_type="customer",
                            type_override="press", followers=10))
    with session_scope(factory) as s:
        store_fetch(s, X_SEARCH, Fetch([tweet(6)], SourceState("1006")), RULES, now=NOW)
    with session_scope(factory) as s:
        m = s.scalars(select(models.Mention)).one()
        assert (m.author_type, m.team, m.priority) == ("press", "pr", "P1")


def test_cursor_is_passed_back_on_the_next_poll(factory):
    source = FakeSource(X_SEARCH, [Fetch([tweet(7)], SourceState("1007")),
                                   Fetch([], SourceState("1007"))])
    clock = Clock(NOW)
    poll_source(factory, source, RULES, clock=clock)
    poll_source(factory, source, RULES, clock=clock)
    assert [s.cursor for s in source.seen_states] == [None, "1007"]


def test_rate_limit_waits_until_reset_without_sleeping(factory):
    reset = NOW + timedelta(minutes=7)
    source = FakeSource(X_SEARCH, [RateLimited(reset), Fetch([tweet(8)], SourceState("1008"))])
    clock = Clock(NOW)
    assert poll_source(factory, source, RULES, clock=clock).status == "rate_limited"
    clock.now = NOW + timedelta(minutes=6)
    assert poll_source(factory, source, RULES, clock=clock).status == "skipped"
    clock.now = reset
    assert poll_source(factory, source, RULES, clock=clock).new == 1
    assert len(source.seen_states) == 2  # the skipped run never called the network


def test_outages_back_off_exponentially_with_a_cap(factory):
    source = FakeSource(X_SEARCH, [SourceUnavailable("503")] * 6 + [Fetch([], SourceState())])
    clock = Clock(NOW)
    waits = []
    for _ in range(6):
        poll_source(factory, source, RULES, clock=clock)
        with session_scope(factory) as s:
            row = s.get(models.Source, "x-search")
            waits.append(row.next_run_at - clock.now)
            clock.now = row.next_run_at
    every = X_SEARCH.every
    assert waits == [every, every * 2, every * 4, every * 8, timedelta(hours=1),
                     timedelta(hours=1)]
    assert poll_source(factory, source, RULES, clock=clock).status == "ok"
    with session_scope(factory) as s:
        row = s.get(models.Source, "x-search")
        assert (row.failures, row.last_error, row.next_run_at) == (0, None, None)


def test_bad_credentials_park_the_source_until_rules_reload(factory):
    source = FakeSource(X_SEARCH, [SourceAuthError("401 Unauthorized: invalid token"),
                                   Fetch([tweet(9)], SourceState("1009"))])
    clock = Clock(NOW)
    assert poll_source(factory, source, RULES, clock=clock).status == "auth_error"
    clock.now += timedelta(days=1)
    outcome = poll_source(factory, source, RULES, clock=clock)
    assert outcome.status == "skipped" and "invalid token" in outcome.detail
    assert reset_unhealthy(factory) == 1
    assert poll_source(factory, source, RULES, clock=clock).new == 1


def test_monthly_budget_slows_then_pauses_polling(factory):
    budget, cost = X_MENTIONS.monthly_budget, X_MENTIONS.cost_per_read
    near = int(budget * 0.85 / cost)
    source = FakeSource(X_MENTIONS, [Fetch([], SourceState("1"), reads=near),
                                     Fetch([], SourceState("2"), reads=near)])
    clock = Clock(NOW)
    poll_source(factory, source, RULES, clock=clock)
    with session_scope(factory) as s:
        row = s.get(models.Source, "x-mentions")
        assert row.next_run_at == NOW + X_MENTIONS.every * 2
        assert "85% of the monthly budget" in row.last_error
    clock.now = row.next_run_at
    poll_source(factory, source, RULES, clock=clock)  # now over budget
    clock.now += X_MENTIONS.every * 2
    outcome = poll_source(factory, source, RULES, clock=clock)
    assert outcome.status == "budget"
    with session_scope(factory) as s:
        row = s.get(models.Source, "x-mentions")
        assert row.next_run_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert len(source.seen_states) == 2


def test_youtube_daily_quota_slows_at_80_percent_then_pauses_until_the_next_day(factory):
    spec = SourceSpec(id="youtube", type="youtube_comments", every="10m", daily_quota=100,
                      channel_id="UCnorthwindAir0000000001")
    source = FakeSource(spec, [Fetch([], SourceState("a"), reads=85),
                               Fetch([], SourceState("b"), reads=20)])
    clock = Clock(NOW)
    poll_source(factory, source, RULES, clock=clock)
    with session_scope(factory) as s:
        row = s.get(models.Source, "youtube")
        assert row.next_run_at == NOW + spec.every * 2
        assert "85% of the daily quota spent: polling every 1200s" in row.last_error
    clock.now = row.next_run_at
    poll_source(factory, source, RULES, clock=clock)  # 105 of 100 units
    clock.now += spec.every * 2
    outcome = poll_source(factory, source, RULES, clock=clock)
    assert outcome.status == "budget"
    with session_scope(factory) as s:
        row = s.get(models.Source, "youtube")
        assert row.next_run_at == datetime(2026, 11, 24, tzinfo=UTC)
        assert row.last_error.startswith("daily quota of 100 units spent")
    assert len(source.seen_states) == 2


def test_quota_exhausted_mid_poll_is_counted_and_waits_for_the_reset(factory):
    spec = SourceSpec(id="youtube", type="youtube_comments", channel_id="UCnorthwindAir0000000001")
    error = QuotaSpent(NOW + timedelta(hours=20), "youtube: daily quota used up")
    error.reads = 3
    outcome = poll_source(factory, FakeSource(spec, [error]), RULES, clock=Clock(NOW))
    assert (outcome.status, outcome.reads) == ("rate_limited", 3)
    with session_scope(factory) as s:
        row = s.get(models.Source, "youtube")
        assert (row.next_run_at, row.cursor) == (NOW + timedelta(hours=20), None)
        assert s.scalar(select(models.SourceUsage.reads)) == 3


def test_a_failed_store_is_recorded_billed_and_retried_after_backoff(factory, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from bot.listening import polling

    fetch = Fetch([tweet(20), tweet(21)], SourceState("1021"), reads=2)
    source = FakeSource(X_SEARCH, [fetch, fetch])
    real = polling.store_fetch

    def locked(*args, **kwargs):
        real(*args, **kwargs)  # writes, then the commit never happens
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(polling, "store_fetch", locked)
    clock = Clock(NOW)
    outcome = poll_source(factory, source, RULES, clock=clock)
    assert (outcome.status, outcome.new, outcome.reads) == ("unavailable", 0, 2)
    assert "database is locked" in outcome.detail
    with session_scope(factory) as s:
        row = s.get(models.Source, "x-search")
        assert "storing 2 mention(s) failed" in row.last_error and row.cursor is None
        assert (row.failures, row.next_run_at) == (1, NOW + X_SEARCH.every)
        assert s.scalar(select(models.SourceUsage.reads)) == 2  # the reads were billed
    assert count(factory, models.Mention) == 0
    monkeypatch.setattr(polling, "store_fetch", real)
    assert poll_source(factory, source, RULES, clock=clock).status == "skipped"  # backing off
    clock.now = NOW + X_SEARCH.every
    assert poll_source(factory, source, RULES, clock=clock).new == 2
    with session_scope(factory) as s:
        row = s.get(models.Source, "x-search")
        assert (row.cursor, row.failures, row.last_error) == ("1021", 0, None)
        assert s.scalar(select(models.SourceUsage.reads)) == 4
