"""Kill -9 of the outbox sender at every point of its rounds, then a restarted sender: exactly
one card per mention in the (fake) Slack, its ts bound to the mention.

Kill points, counted by a dry run that drains the queue:
- `db` k: before every SQL statement and COMMIT the sender makes (claims, releases, marking
  sent with the ts, housekeeping…): so after the claim commit, before and after the record;
- `post` i: the i-th chat.postMessage, before it leaves (the claim is committed);
- `posted` i: the i-th chat.postMessage after Slack stored the message and answered, before
  our process could read the answer or record the ts.
The restart is what `socialbot run` does at start: verify the rows left in `sending` (on
PostgreSQL only once their lease ran out: another replica might be mid-call), then send.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import make_engine, make_session_factory
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.fault_outbox import drain
from tests.support.fault_scenarios import NOW, POSTS, seed_cards
from tests.support.fault_world import Killed, Process, kill_plan


def check(url: str, fake: FakeSlack, mention_ids: list[int]) -> None:
    posted = Counter(m["metadata"]["event_payload"]["mention_id"] for m in fake.posts())
    ts_of = {m["metadata"]["event_payload"]["mention_id"]: m["ts"] for m in fake.posts()}
    lost = sum(1 for i in mention_ids if posted[i] == 0)
    dups = sum(n - 1 for n in posted.values() if n > 1)
    assert fault_figures.invariant("mentions lost", lost) == 0, posted
    assert fault_figures.invariant("duplicate cards", dups) == 0, posted
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            rows = s.execute(select(models.Mention.id, models.Mention.slack_ts)).all()
            states = s.scalars(select(models.OutboxMessage.state)).all()
    finally:
        engine.dispose()
    assert {i: ts for i, ts in rows} == ts_of  # each mention is bound to its one card
    assert set(states) == {"sent"}


@pytest.fixture
def fake():
    clock = Clock(NOW)
    fake = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()
    fake.clock = clock
    yield fake
    fake.stop()


def test_kill_the_sender_at_every_point_then_restart_posts_each_card_once(fresh_db, fake):
    clock = fake.clock
    url = fresh_db()
    ids = seed_cards(url)
    dry = Process()
    drain(url, fake, clock, dry, restart=False)
    check(url, fake, ids)
    plan = kill_plan(dry.counts)
    assert dry.counts["post"] == dry.counts["posted"] == len(POSTS), dry.counts
    assert dry.counts["db"] >= 30, dry.counts

    for point in plan:
        fake.messages.clear()
        fake.calls.clear()
        clock.now = NOW
        url = fresh_db()
        ids = seed_cards(url)
        process = Process(point)
        with pytest.raises(Killed):
            drain(url, fake, clock, process, restart=False)
        fault_figures.tried("kill points")
        clock.now += timedelta(seconds=5)
        drain(url, fake, clock, Process(), restart=True)
        check(url, fake, ids)  # every row `sent`: no later round can post one again
