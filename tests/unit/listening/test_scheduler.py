"""Scheduling decisions and the source registry, without running a scheduler thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.domain.rules.load import load_rules
from bot.kit.scheduler import build_scheduler
from bot.listening.jobs import BACKFILL_EVERY, backfill_every, hurry, schedule_polls
from bot.listening.registry import build_sources
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_registry_skips_sources_without_credentials_and_names_the_variables():
    built = build_sources(RULES, Settings(_env_file=None, X_BEARER_TOKEN="AAAA"))
    assert [s.spec.id for s in built.sources] == ["x-mentions", "x-search", "google-alerts",
                                                  "travel-news"]
    assert built.skipped == {
        "mastodon": "missing MASTODON_API_BASE_URL, MASTODON_ACCESS_TOKEN",
        "bluesky-mentions": "missing BLUESKY_HANDLE, BLUESKY_APP_PASSWORD",
        "bluesky-search": "missing BLUESKY_HANDLE, BLUESKY_APP_PASSWORD"}


def test_x_sources_share_one_client():
    built = build_sources(RULES, Settings(_env_file=None, X_BEARER_TOKEN="AAAA"))
    x = [s for s in built.sources if s.spec.network == "x"]
    assert len(x) == 2 and x[0].client is x[1].client


@pytest.fixture
def scheduler():
    """A real scheduler, started paused: jobs get their defaults, none runs."""
    s = build_scheduler()
    s.start(paused=True)
    yield s
    s.shutdown(wait=False)


def test_one_job_per_source_at_its_interval_with_jitter_and_no_overlap(scheduler):
    built = build_sources(RULES, Settings(_env_file=None, X_BEARER_TOKEN="AAAA"))
    schedule_polls(scheduler, built.sources, lambda s: None, now=NOW)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {"poll:x-mentions", "poll:x-search", "poll:google-alerts",
                         "poll:travel-news"}
    job = jobs["poll:x-search"]
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval.total_seconds() == 300 and job.trigger.jitter == 30
    assert jobs["poll:x-mentions"].trigger.jitter == 6  # a tenth of 60s
    assert (job.max_instances, job.coalesce) == (1, True)
    assert job.next_run_time == NOW  # the first poll is not a whole interval away


def test_rescheduling_after_a_reload_drops_removed_sources(scheduler):
    built = build_sources(RULES, Settings(_env_file=None, X_BEARER_TOKEN="AAAA"))
    schedule_polls(scheduler, built.sources, lambda s: None, now=NOW)
    schedule_polls(scheduler, built.sources[:1], lambda s: None, now=NOW)
    assert [j.id for j in scheduler.get_jobs()] == ["poll:x-mentions"]


def test_a_source_backfilling_a_gap_polls_again_soon_never_later(scheduler):
    built = build_sources(RULES, Settings(_env_file=None, X_BEARER_TOKEN="AAAA"))
    schedule_polls(scheduler, built.sources, lambda s: None, now=NOW)
    job = scheduler.get_job("poll:x-search")
    job.modify(next_run_time=NOW + timedelta(minutes=5))  # its `every` away
    hurry(scheduler, "x-search", NOW + BACKFILL_EVERY)
    assert scheduler.get_job("poll:x-search").next_run_time == NOW + BACKFILL_EVERY
    hurry(scheduler, "x-search", NOW + timedelta(minutes=10))  # never postpones a poll
    assert scheduler.get_job("poll:x-search").next_run_time == NOW + BACKFILL_EVERY
    hurry(scheduler, "no-such-source", NOW)  # a source removed meanwhile: nothing to do


def test_x_backfills_a_gap_as_fast_as_its_documented_rate_limit_allows():
    # 5 pages a poll within 90 % of X's 450 requests per 15 min (bearer) or 300 (user keys).
    app = build_sources(RULES, Settings(_env_file=None, X_BEARER_TOKEN="AAAA")).sources
    user = build_sources(RULES, Settings(_env_file=None, X_API_KEY="k", X_API_SECRET="s",
                                         X_ACCESS_TOKEN="1-t", X_ACCESS_TOKEN_SECRET="t")).sources
    x_app = next(s for s in app if s.spec.id == "x-mentions")
    x_user = next(s for s in user if s.spec.id == "x-mentions")
    assert backfill_every(x_app) == timedelta(seconds=900 * 5 / 405)  # 11.1 s
    assert backfill_every(x_user) == timedelta(seconds=900 * 5 / 270)  # 16.7 s
    feed = next(s for s in app if s.spec.id == "google-alerts")
    assert backfill_every(feed) == BACKFILL_EVERY  # no rate limit of its own: the default
