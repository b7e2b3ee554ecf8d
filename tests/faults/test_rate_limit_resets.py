"""X's 429 reset header is the network's word, not trusted blindly (issue 18, break 6): a reset
10 years ahead parked the source until 2036 (kept across SIGHUP); a garbage one made tweepy
raise ValueError, so the 429 was never seen and the bot polled again at every `every`.
Against the fake X over real HTTP, with the real tweepy client.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.polling import MAX_RATE_WAIT, poll_source, reset_unhealthy
from bot.networks.base import Fetch, SourceState
from bot.networks.x.source import RATE_LIMIT_FALLBACK, XSearchSource
from bot.networks.youtube.source import QuotaSpent
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_source import FakeSource
from tests.support.fake_x import FakeX, snowflake
from tests.support.fault_scenarios import RULES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPEC = RULES.source("x-search")


@pytest.fixture
def fake_x():
    fake = FakeX().start()
    fake.user("7", "ana")
    fake.post(snowflake(NOW - timedelta(minutes=5)), "@NorthwindAir where is my bag", "7",
              NOW - timedelta(minutes=5))
    yield fake
    fake.stop()


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


def next_run(factory):
    with session_scope(factory) as s:
        return s.get(models.Source, SPEC.id).next_run_at


@pytest.mark.parametrize("reset, wait", [
    (str(int((NOW + timedelta(days=3650)).timestamp())), MAX_RATE_WAIT),  # 10 years ahead
    ("soon-ish", RATE_LIMIT_FALLBACK),  # not epoch seconds
    ("", RATE_LIMIT_FALLBACK),
])
def test_a_429_waits_at_most_an_hour_and_a_reload_ends_the_wait(factory, fake_x, caplog,
                                                                 reset, wait):
    source = XSearchSource(SPEC, RULES.brand, fake_x.client())
    fake_x.fail(429, headers={"x-rate-limit-reset": reset, "x-rate-limit-remaining": "0"})
    clock = Clock(NOW)
    with caplog.at_level(logging.WARNING):
        outcome = poll_source(factory, source, RULES, clock=clock)
    fault_figures.tried("faults injected")
    assert outcome.status == "rate_limited", outcome
    assert next_run(factory) == NOW + wait
    if wait == MAX_RATE_WAIT:
        assert "waiting 1:00:00 at most" in caplog.text
    elif reset:
        assert "unreadable x-rate-limit-reset" in caplog.text

    clock.advance(60)
    assert poll_source(factory, source, RULES, clock=clock).status == "skipped"
    assert reset_unhealthy(factory) == 1  # SIGHUP: the rules reloaded
    assert next_run(factory) is None
    ok = poll_source(factory, source, RULES, clock=clock)
    assert (ok.status, ok.new) == ("ok", 1)
    assert fault_figures.invariant("mentions lost", 1 - ok.new) == 0


def test_a_wait_the_adapter_computed_by_the_networks_rule_is_kept(factory):
    """YouTube's quota resets at midnight Pacific: that wait is ours, not a header's."""
    spec = RULES.source("x-search")
    midnight = NOW + timedelta(hours=20)
    source = FakeSource(spec, [QuotaSpent(midnight, "daily quota used up"),
                               Fetch([], SourceState("1"))])
    assert poll_source(factory, source, RULES, clock=Clock(NOW)).status == "rate_limited"
    assert next_run(factory) == midnight
