"""Kill -9 of the outbox sender at every point while it posts a conversation — the card, then
a customer's follow-ups and someone else's context in the card's thread, then the card's
"Customer replied" update — then a restarted sender: each post in the thread exactly once,
under the one card, never as a card of its own.

The kill points are test_kill_outbox's (every statement and COMMIT, before each
chat.postMessage and after Slack answered it); the rows are those real ingest queues.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain.mention import Author, Mention
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.ingest import store_mentions
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.fault_outbox import drain
from tests.support.fault_scenarios import NOW, RULES
from tests.support.fault_world import Killed, Process, kill_plan


def x_post(n: int, handle: str, text: str, reply_to: str | None) -> Mention:
    return Mention(network="x", external_id=str(1990 + n), text=text,
                   author=Author(handle=handle, name=handle.title(), followers=10),
                   created_at=NOW - timedelta(minutes=10 - n), lang="en", mentions_brand=True,
                   in_reply_to_id=reply_to, conversation_id="1990")


def seed_conversation(url: str) -> None:
    """A card and, before it was posted, three posts in its conversation."""
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            store_mentions(s, [x_post(0, "ana", "@NorthwindAir my bag is lost", None)], RULES,
                           now=NOW)
            store_mentions(s, [x_post(1, "ana", "@NorthwindAir hello??", "1990"),
                               x_post(2, "ben", "@NorthwindAir same here", "1990"),
                               x_post(3, "ana", "@NorthwindAir anyone?", "1991")], RULES,
                           now=NOW)
    finally:
        engine.dispose()


def check(url: str, fake: FakeSlack) -> None:
    payloads = [m["metadata"]["event_payload"] for m in fake.posts()]
    cards = [m for m in fake.posts() if "thread_ts" not in m]
    in_thread = [m for m in fake.posts() if "thread_ts" in m]
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            card_ts = s.scalar(select(models.Mention.slack_ts))
            thread_rows = s.scalars(select(models.OutboxMessage.id).where(
                models.OutboxMessage.kind == "thread")).all()
            states = set(s.scalars(select(models.OutboxMessage.state)))
    finally:
        engine.dispose()
    per_row = Counter(p["outbox_id"] for p in payloads)
    lost = sum(1 for r in thread_rows if per_row[r] == 0) + (0 if cards else 1)
    doubled = sum(n - 1 for n in per_row.values() if n > 1) + max(0, len(cards) - 1)
    assert fault_figures.invariant("mentions lost", lost) == 0, per_row
    assert fault_figures.invariant("duplicate cards", doubled) == 0, per_row
    assert len(thread_rows) == 3 and {m["thread_ts"] for m in in_thread} == {card_ts}
    assert states == {"sent"}


@pytest.fixture
def fake():
    clock = Clock(NOW)
    fake = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()
    fake.clock = clock
    yield fake
    fake.stop()


def test_kill_the_sender_while_it_posts_a_thread_then_restart_posts_each_once(fresh_db, fake):
    clock = fake.clock
    url = fresh_db()
    seed_conversation(url)
    dry = Process()
    drain(url, fake, clock, dry, restart=False)
    check(url, fake)
    plan = kill_plan(dry.counts)
    assert dry.counts["post"] == 4, dry.counts  # the card and three thread posts

    for point in plan:
        fake.messages.clear()
        fake.calls.clear()
        clock.now = NOW
        url = fresh_db()
        seed_conversation(url)
        process = Process(point)
        with pytest.raises(Killed):
            drain(url, fake, clock, process, restart=False)
        fault_figures.tried("kill points")
        clock.now += timedelta(seconds=5)
        drain(url, fake, clock, Process(), restart=True)
        check(url, fake)
