"""A storm: thousands of mentions at once, against the fake X over real HTTP (issue 18).

    python bench/storm.py [--n 3000] [--every 60]

In one process: SQLite in a temporary directory, the shipped rules, the real X mentions source
(tweepy over HTTP to `tests/support/fake_x.py`), `poll_source`, and the real outbox sender
posting to the fake Slack (1 message/s per channel, burst 3, as Slack paces). One mention
exists and is stored (the cursor); then N mentions arrive at once, three of them legal threats
(P1: the newest, one in the middle, the oldest). Time is simulated (the injected clock moves
one second per round; nothing sleeps): the source polls at `every`, and every BACKFILL_EVERY
while a gap is open, as `socialbot run` schedules it; the sender runs every second.

Printed, for this code and for the baseline — the same run with the gap thrown away after each
poll, which is what main did before issue 18 (the cursor moved past what the page cap left):
mentions stored of N + 1, P1 cards posted of 3 and when the last one was (simulated seconds
after the storm), polls, posts read, and the wall time. A benchmark: it exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.domain.rules.load import load_rules  # noqa: E402
from bot.kit import models  # noqa: E402
from bot.kit.db import (  # noqa: E402
    make_engine,
    make_session_factory,
    session_scope,
    upgrade_to_head,
)
from bot.listening.jobs import BACKFILL_EVERY  # noqa: E402
from bot.listening.polling import poll_source  # noqa: E402
from bot.networks.base import Fetch, SourceState  # noqa: E402
from bot.networks.x.source import XMentionsSource  # noqa: E402
from bot.outbox import OutboxSender, sender_client  # noqa: E402
from tests.support.fake_slack import FakeSlack  # noqa: E402
from tests.support.fake_x import BRAND_ID, FakeX, snowflake  # noqa: E402

RULES = load_rules(ROOT / "routing_rules.yaml")
SPEC = RULES.source("x-mentions")
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEGAL = "@NorthwindAir I will sue you, my lawyer is ready"


class ForgetsGaps:
    """The X source as main had it: a page cap's leftovers are dropped with the gap."""

    def __init__(self, source: XMentionsSource) -> None:
        self.source, self.spec = source, source.spec

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        fetch = self.source.fetch(dataclasses.replace(state, backfill=None), now=now)
        return dataclasses.replace(fetch, state=dataclasses.replace(fetch.state, backfill=None))


def render(session, row: models.OutboxMessage) -> dict:
    return {"text": f"{row.kind} of mention {row.mention_id}"}


def run(n: int, every: int, *, keep_gaps: bool, tmp: Path) -> dict:
    url = f"sqlite:///{tmp / ('storm.db' if keep_gaps else 'baseline.db')}"
    upgrade_to_head(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = [START]
    fake = FakeX().start()
    slack = FakeSlack(ts_clock=lambda: clock[0].timestamp()).start()
    try:
        slack.rate_limit_posts(1.0, 3, clock=lambda: clock[0].timestamp())
        real = XMentionsSource(SPEC, RULES.brand, fake.client(), brand_user_id=BRAND_ID)
        source = real if keep_gaps else ForgetsGaps(real)
        fake.user("9", "early")
        fake.post(snowflake(START - timedelta(minutes=30)), "@NorthwindAir morning!", "9",
                  START - timedelta(minutes=30))
        poll_source(factory, source, RULES, clock=lambda: clock[0])
        clock[0] += timedelta(seconds=every)
        storm_at = clock[0]
        p1 = {0, n // 2, n - 1}
        for i in range(n):
            uid = str(10_000 + i % 2000)
            fake.user(uid, f"customer{i % 2000}", followers=50 + i % 5000)
            at = storm_at - timedelta(seconds=60) + timedelta(milliseconds=60_000 * i // n)
            fake.post(snowflake(at, i % 4096), LEGAL if i in p1 else
                      f"Loving the new lounge @NorthwindAir, visit {i}", uid, at)
        sender = OutboxSender(factory, sender_client("xoxb-storm", slack.api_url, timeout=5),
                              render, lambda: clock[0])
        wall = time.perf_counter()
        polls, next_poll, last_p1 = 0, storm_at, None
        p1_ids: set[int] = set()
        for second in range(1800):
            now = clock[0] = storm_at + timedelta(seconds=second)
            if now >= next_poll:
                outcome = poll_source(factory, source, RULES, clock=lambda: clock[0])
                polls += 1
                next_poll = now + (BACKFILL_EVERY if outcome.gap_open
                                   else timedelta(seconds=every))
                with session_scope(factory) as s:
                    p1_ids = set(s.scalars(select(models.Mention.id)
                                           .where(models.Mention.priority == "P1")))
            sender.run_once(now)
            posted = {m["metadata"]["event_payload"].get("mention_id") for m in slack.posts()}
            if p1_ids and p1_ids <= posted and last_p1 is None and len(p1_ids) == 3:
                last_p1 = second
            with session_scope(factory) as s:
                gap = s.scalar(select(models.Source.backfill).where(models.Source.id == SPEC.id))
            if gap is None and sender.depth() == 0:
                break  # everything read has been posted (or folded into a digest)
        wall = time.perf_counter() - wall
        with session_scope(factory) as s:
            stored = s.scalar(select(func.count()).select_from(models.Mention))
            reads = s.scalar(select(func.sum(models.SourceUsage.reads)))
        posted = {m["metadata"]["event_payload"].get("mention_id") for m in slack.posts()}
        return {"stored": stored, "expected": n + 1, "p1_posted": len(p1_ids & posted),
                "last_p1": last_p1, "polls": polls, "reads": reads, "wall": wall,
                "cards": len(slack.posts())}
    finally:
        fake.stop()
        slack.stop()
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=3000, help="mentions at once (default 3000)")
    p.add_argument("--every", type=int, default=int(SPEC.every.total_seconds()),
                   help="the source's every in seconds (the shipped rules': %(default)s)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the gap's WARNING at every poll is expected
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}; storm of {args.n:,} mentions (+1 before), 3 P1, "
          f"every {args.every}s, SQLite")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("this code", run(args.n, args.every, keep_gaps=True, tmp=Path(tmp))),
                ("baseline (gap dropped, as main did)",
                 run(args.n, args.every, keep_gaps=False, tmp=Path(tmp)))]
    print(f"{'':38} {'stored':>13} {'P1 posted':>9} {'last P1':>8} {'polls':>5} "
          f"{'posts read':>10} {'wall':>7}")
    for name, r in rows:
        last = f"{r['last_p1']} s" if r["last_p1"] is not None else "never"
        print(f"{name:38} {r['stored']:>6,}/{r['expected']:<6,} {r['p1_posted']:>7}/3 "
              f"{last:>8} {r['polls']:>5} {r['reads']:>10,} {r['wall']:>6.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
