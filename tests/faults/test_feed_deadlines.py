"""Feeds cannot hold a poll, nor reach inside the network (issue 18, breaks 7 and 9).

- A slow loris (one byte every few seconds, in the body or in the status line itself) held a
  poll open for ever — requests' read timeout counts from the last byte — and with it `SIGTERM`.
  Now the whole request has a deadline, and `abort_all` (what `socialbot run` calls on
  SIGTERM) ends a request in flight at once.
- A feed's 302 to `http://127.0.0.1:…/admin` was followed. Now a feed connects only to public
  addresses (checked at connect time, on the address actually used), unless the source says
  `allow_private: true`, and a redirect to another scheme is never followed.
Real sockets on 127.0.0.1; the clock for the deadline is the real one (seconds, kept short).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from bot.domain.rules.schema import SourceSpec
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.polling import poll_source
from bot.networks.base import SourceAuthError, SourceState, SourceUnavailable
from bot.networks.guarded_http import abort_all, refused_address
from bot.networks.rss.source import RssSource
from bot.networks.x.source import XSearchSource
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_x import FakeX, snowflake
from tests.support.fault_scenarios import RULES
from tests.support.slow_feed import Redirector, SlowFeed

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def local_feed(url: str, **kw: object) -> SourceSpec:
    return SourceSpec(id="alerts", type="rss", url=url, every="15m", allow_private=True, **kw)


@pytest.mark.parametrize("stage", ["body", "headers"])
def test_a_slow_loris_feed_cannot_hold_a_poll(engine, stage):
    slow = SlowFeed(interval=0.2, stage=stage)
    try:
        spec = local_feed(slow.url)
        rules = RULES.model_copy(update={"sources": [*RULES.sources, spec]})
        source = RssSource(spec, deadline=1.5)
        started = time.monotonic()
        outcome = poll_source(make_session_factory(engine), source, rules, clock=Clock(NOW))
        took = time.monotonic() - started
        fault_figures.tried("faults injected")
        assert outcome.status == "unavailable", outcome
        assert "no complete answer within 1.5 s" in outcome.detail
        assert took < 4, took  # the deadline, not the feed, decided (it would take hours)
        with session_scope(make_session_factory(engine)) as s:
            row = s.get(models.Source, "alerts")
            assert row.failures == 1 and row.next_run_at is not None  # backs off
    finally:
        slow.stop()


def test_an_api_answer_trickling_in_cannot_hold_a_poll(engine):
    """The same deadline for the networks' APIs: X (tweepy over the guarded session)."""
    fake = FakeX(trickle=0.2).start()
    try:
        fake.user("7", "ana")
        fake.post(snowflake(NOW), "@NorthwindAir hello", "7", NOW)
        client = fake.client()
        client.session.deadline = 1.5
        source = XSearchSource(RULES.source("x-search"), RULES.brand, client)
        started = time.monotonic()
        outcome = poll_source(make_session_factory(engine), source, RULES, clock=Clock(NOW))
        fault_figures.tried("faults injected")
        assert outcome.status == "unavailable" and "no complete answer" in outcome.detail
        assert time.monotonic() - started < 4
    finally:
        fake.stop()


def test_a_request_in_flight_ends_at_once_when_the_bot_stops():
    slow = SlowFeed(interval=0.5)
    try:
        source = RssSource(local_feed(slow.url), deadline=600)  # the deadline is far away
        failure: list[BaseException] = []

        def poll() -> None:
            try:
                source.fetch(SourceState(), now=NOW)
            except BaseException as exc:
                failure.append(exc)

        poller = threading.Thread(target=poll)
        poller.start()
        assert slow.requested.wait(10)
        time.sleep(0.3)  # the poll is now reading the body, a byte at a time
        started = time.monotonic()
        assert abort_all() >= 1  # SIGTERM
        poller.join(5)
        fault_figures.tried("faults injected")
        assert not poller.is_alive() and time.monotonic() - started < 2
        assert failure and isinstance(failure[0], SourceUnavailable), failure
    finally:
        slow.stop()


@pytest.mark.parametrize("address, refused", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.9", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("::1", True),
    ("fe80::1", True), ("fd00::1", True), ("::ffff:127.0.0.1", True), ("224.0.0.1", True),
    ("93.184.216.34", False), ("2606:2800:220:1:248:1893:25c8:1946", False),
])
def test_which_addresses_a_feed_may_reach(address, refused):
    assert refused_address(address) is refused


def test_a_feed_on_a_private_address_is_refused_unless_the_source_allows_it():
    redirect = Redirector("/admin")
    try:
        spec = SourceSpec(id="alerts", type="rss", url=redirect.url, every="15m")
        with pytest.raises(SourceAuthError, match=r"resolves to 127\.0\.0\.1.*allow_private"):
            RssSource(spec).fetch(SourceState(), now=NOW)
        fault_figures.tried("hostile inputs")
        assert redirect.hits == 0  # refused before connecting
        # With allow_private, a redirect on the same scheme is followed (and checked again).
        got = RssSource(local_feed(redirect.url)).fetch(SourceState(), now=NOW)
        assert len(got.mentions) == 20 and redirect.hits == 2
    finally:
        redirect.stop()


@pytest.mark.parametrize("target", ["https://127.0.0.1:1/feed.xml", "file:///etc/passwd",
                                    "ftp://127.0.0.1/feed.xml"])
def test_a_redirect_to_another_scheme_is_never_followed(target):
    redirect = Redirector(target)
    try:
        with pytest.raises(SourceAuthError, match="another scheme"):
            RssSource(local_feed(redirect.url)).fetch(SourceState(), now=NOW)
        fault_figures.tried("hostile inputs")
        assert redirect.hits == 1
    finally:
        redirect.stop()


def test_redirect_loops_end():
    redirect = Redirector("/feed.xml?again")
    try:
        with pytest.raises(SourceAuthError, match="redirects"):
            RssSource(local_feed(redirect.url)).fetch(SourceState(), now=NOW)
    finally:
        redirect.stop()
