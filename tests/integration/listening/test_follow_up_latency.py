"""The claim "a follow-up reaches the card's thread within one poll plus 2 s of outbox time",
shown with an injected clock and no sleeping: the real X source over HTTP against the fake X,
`poll_source`, and the real outbox sender posting to the fake Slack, its loop played as
`OutboxSender._loop` plays it (woken by the poll; then a round, and the wait it asks for,
until nothing is due). Slack's per-channel rate limit is on, and the same poll brings new
customers' cards into the same channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.desk.directory import StaticDirectory
from bot.domain.rules.load import load_rules
from bot.kit.db import make_session_factory
from bot.listening.polling import poll_source
from bot.networks.x.source import XMentionsSource
from bot.outbox import OutboxSender, sender_client
from bot.slack.render import Renderer
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.fake_x import BRAND_ID, FakeX, snowflake
from tests.support.paths import ROOT

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = load_rules(ROOT / "routing_rules.yaml")
SPEC = RULES.source("x-mentions")
OUTBOX_BUDGET = 2.0  # seconds of outbox time the claim allows after the poll
CUSTOMER = "1500000000000000001"


@pytest.fixture
def world(engine):
    x = FakeX().start()
    clock = Clock(NOW)
    slack = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()
    slack.rate_limit_posts(1.0, 3, clock=lambda: clock.now.timestamp())  # Slack's pace
    factory = make_session_factory(engine)
    sender = OutboxSender(factory, sender_client("xoxb-latency", slack.api_url, timeout=5),
                          Renderer(lambda: RULES, StaticDirectory({}), clock), clock)
    source = XMentionsSource(SPEC, RULES.brand, x.client(), brand_user_id=BRAND_ID)
    yield x, clock, slack, factory, sender, source
    slack.stop()
    x.stop()


def outbox_rounds(sender: OutboxSender, clock: Clock, *, until: float) -> None:
    """The sender's loop after a wake, on the injected clock, until `until` seconds on."""
    end = clock.now + timedelta(seconds=until)
    while clock.now < end:
        if not sender.run_once(clock.now):
            clock.advance(sender.seconds_until_due())


def posted_at(slack: FakeSlack, marker: str, *, thread: bool) -> float | None:
    for m in slack.posts():
        if marker in json.dumps(m) and bool(m.get("thread_ts")) == thread:
            return float(m["ts"])
    return None


@pytest.mark.parametrize("others", [0, 4])
def test_a_follow_up_reaches_the_cards_thread_within_one_poll_plus_two_seconds(world, others):
    x, clock, slack, factory, sender, source = world
    x.user(CUSTOMER, "bagless")
    first = snowflake(NOW - timedelta(minutes=30))
    x.post(first, "@NorthwindAir my bag never arrived in Denver", CUSTOMER,
           NOW - timedelta(minutes=30))
    assert poll_source(factory, source, RULES, clock=clock).new == 1
    outbox_rounds(sender, clock, until=30)
    assert posted_at(slack, "never arrived", thread=False) is not None  # the card

    # The customer writes again just after a poll: the worst case waits a whole `every`.
    clock.advance(1)
    written = clock.now
    x.post(snowflake(written), "@NorthwindAir 3 hours and still no bag", CUSTOMER, written,
           replied_to=str(first), conversation_id=str(first))
    for i in range(others):  # new customers, same channel, same poll
        uid = str(1600000000000000000 + i)
        x.user(uid, f"newcomer{i}")
        x.post(snowflake(written, i + 1), f"@NorthwindAir my bag is lost too, {i}", uid, written)
    clock.advance(SPEC.every.total_seconds())  # the next poll, one `every` later
    polled = clock.now
    outcome = poll_source(factory, source, RULES, clock=clock)
    assert (outcome.status, outcome.threaded, outcome.new) == ("ok", 1, others)
    outbox_rounds(sender, clock, until=30)  # woken by the poll (bot.app.Runtime.poll)

    at = posted_at(slack, "still no bag", thread=True)
    assert at is not None, "the follow-up never reached the card's thread"
    assert at - polled.timestamp() <= OUTBOX_BUDGET, at - polled.timestamp()
    assert at - written.timestamp() <= SPEC.every.total_seconds() + OUTBOX_BUDGET
    cards = [m for m in slack.posts() if not m.get("thread_ts")]
    assert len(cards) == 1 + others  # never a card of its own (the card quotes it: updated)
