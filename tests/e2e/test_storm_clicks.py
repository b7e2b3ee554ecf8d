"""A storm through the running bot (issue 18), smaller than `bench/storm.py`'s: 1,200 mentions
at once on the fake X, three of them legal threats, read by the running bot's scheduled polls
(real tweepy over HTTP), cards posted to the fake Slack by its outbox sender, and Claim clicks
signed over real HTTP while the backlog is still being read. The P1s deep in the backlog are
found by the first poll's urgent search (one recent-search request) and carded at once.

The first poll, at start, reaches the page cap and keeps the rest as a gap; the next poll is
then due after X's `backfill_every` (11.1 s with the bearer token: 5 pages within 90 % of
450 requests per 15 min), not at the source's `every` (5 min here). The test moves each next
poll to now (as a webhook hint would) instead of waiting for it. Every mention is stored once,
each P1 card posted once, every click answered 200 and exactly one of the racing agents
claims the card."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.kit import models
from bot.listening.jobs import backfill_every, poll_job_id
from tests.support.desk_clicks import blocks_of, click, one_card
from tests.support.fake_x import FakeX, snowflake
from tests.support.rules_files import shipped_rules_with

STORM = 1200
P1 = {0, STORM // 2, STORM - 1}  # the oldest, one in the middle, the newest


def post_storm(fake: FakeX, at: datetime) -> None:
    for i in range(STORM):
        uid = str(10_000 + i % 300)
        fake.user(uid, f"customer{i % 300}", followers=50 + i)
        when = at - timedelta(seconds=60) + timedelta(milliseconds=50 * i)
        fake.post(snowflake(when, i % 4096),
                  f"@NorthwindAir I will sue you, my lawyer is ready (case {i})" if i in P1
                  else f"Loving the new lounge @NorthwindAir, visit {i}", uid, when)


def until(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return result


def test_a_storm_is_read_at_xs_pace_while_clicks_on_its_p1_are_acked(start_bot, fake_slack,
                                                                       tmp_path):
    fake_x = FakeX().start()
    try:
        post_storm(fake_x, datetime.now(UTC))
        bot = start_bot(shipped_rules_with(tmp_path, [{"id": "x-mentions", "type": "x_mentions",
                                                       "every": "5m"}]), **fake_x.env())
        runtime = bot.runtime
        [source] = runtime.sources

        def stored() -> int:
            with runtime.factory() as s:
                return s.scalar(select(func.count()).select_from(models.Mention)) or 0

        def gap() -> str | None:
            with runtime.factory() as s:
                return s.scalar(select(models.Source.backfill)
                                .where(models.Source.id == "x-mentions"))

        until(gap, "the first poll left no gap")  # 500 read of 1,200
        # The oldest and the middle P1 lie deep in the gap: the first poll's urgent search
        # (recent search for the rules' P1 cues within the gap) stored them with the 500.
        with runtime.factory() as s:
            p1 = s.scalar(select(func.count()).select_from(models.Mention)
                          .where(models.Mention.priority == "P1"))
        assert p1 == 3 and stored() < STORM
        job = runtime.scheduler.get_job(poll_job_id("x-mentions"))
        assert backfill_every(source) == timedelta(seconds=900 * 5 / 405)
        assert job.next_run_time <= datetime.now(UTC) + backfill_every(source)  # not in 5 min

        newest = one_card(fake_slack, f"(case {STORM - 1})")  # the first poll's P1
        racers = [threading.Thread(target=click, args=(bot, fake_slack, f"U0RACE{i:02d}",
                                                       blocks_of(newest), "claim"))
                  for i in range(10)]
        for t in racers:
            t.start()  # each asserts its ack was 200
        while gap():  # the backlog, read while the clicks are handled
            before = stored()
            runtime.poll_now("x-mentions")
            until(lambda b=before: stored() > b or not gap(), "a backfill poll stored nothing")
        for t in racers:
            t.join()

        assert stored() == STORM
        for i in P1:
            one_card(fake_slack, f"(case {i})")  # each P1 card posted, once
        cards = Counter(m["metadata"]["event_payload"].get("mention_id")
                        for m in fake_slack.posts()
                        if m["metadata"]["event_type"] == "socialbot_card")
        assert cards and all(n == 1 for n in cards.values()), "a card posted twice"
        searches = [c for c in fake_x.calls if c.path == "/2/tweets/search/recent"]
        assert len(searches) == 1 and searches[0].params["query"].startswith("@NorthwindAir (")

        def claims() -> int:
            with runtime.factory() as s:
                return s.scalar(select(func.count()).select_from(models.AuditEvent)
                                .where(models.AuditEvent.action == "claim")) or 0
        until(lambda: claims() or None, "no claim applied")  # applied after the acks
        assert claims() == 1  # one winner among the racers
    finally:
        fake_x.stop()
