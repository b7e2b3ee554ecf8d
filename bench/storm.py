"""A storm: thousands of mentions at once, against the fake X over real HTTP (issue 18).

    python bench/storm.py [--n 3000] [--every 60] [--pg URL [--replicas 3]]
                          [--clicks 50] [--click-every 60] [--no-urgent]

In one process: SQLite in a temporary directory (or, with `--pg`, a throwaway PostgreSQL
database created on that server and dropped afterwards), the shipped rules, the real X
mentions source (tweepy over HTTP to `tests/support/fake_x.py`), `poll_source`, and the real
outbox sender posting to the fake Slack (1 message/s per channel, burst 3, as Slack paces). One
mention exists and is stored (the cursor); then N mentions arrive at once, three of them legal
threats (P1: the newest, one in the middle, the oldest). Time is simulated (the injected clock
moves one second per round; nothing sleeps): the source polls at `every`, and at its
`backfill_every` while a gap is open, as `socialbot run` schedules it; the sender runs every
second. The source has the shipped rules' P1 cues: while a gap is open it asks X recent search
for them within the gap (the urgent search; `--no-urgent`: without it, as before). The fake X
counts each endpoint's requests in X's 15-minute windows on the simulated clock and answers 429
past X's documented 450: the most one window took is printed per endpoint.

With `--replicas R` (PostgreSQL), R replicas share the database as `socialbot run` processes
would: each its own engine, its own `PostgresLeader` (the advisory lock, checked every
simulated second) and its own `OutboxSender`; only the leader polls, every replica sends
(rows claimed with SKIP LOCKED). The cards the fake Slack received are counted per mention:
none may be posted twice.

Printed, for this code and for the baseline — the same run with the gap thrown away after each
poll, which is what main did before issue 18 (the cursor moved past what the page cap left):
mentions stored of N + 1, P1 cards posted of 3 and when the last one was (simulated seconds
after the storm), polls (and by how many replicas), posts read, cards posted twice, the
process's resident memory (before the storm is read, the highest, at the end; sampled every
10 simulated seconds and at each poll) and the wall time. With `--clicks N` (default 50), the
bot's HTTP endpoint serves bursts of N Claim clicks while the gap is open (`bench/storm_acks.py`):
their ack p50/p99/max. A benchmark: it exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bench.gc_pauses import GcPauses  # noqa: E402
from bench.storm_acks import StormClicks  # noqa: E402
from bot.domain.rules.load import load_rules  # noqa: E402
from bot.domain.rules.urgent import urgent_cues  # noqa: E402
from bot.kit import models  # noqa: E402
from bot.kit.acks import collect_less  # noqa: E402
from bot.kit.db import (  # noqa: E402
    make_engine,
    make_session_factory,
    normalize_url,
    session_scope,
    upgrade_to_head,
)
from bot.kit.leader import PostgresLeader  # noqa: E402
from bot.listening.jobs import backfill_every  # noqa: E402
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
BENCH_LOCK_KEY = 1_802_030_405_060_708  # the replicas' leader lock in the throwaway database


class ForgetsGaps:
    """The X source as main had it: a page cap's leftovers are dropped with the gap."""

    def __init__(self, source: XMentionsSource) -> None:
        self.source, self.spec = source, source.spec

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        fetch = self.source.fetch(dataclasses.replace(state, backfill=None), now=now)
        return dataclasses.replace(fetch, state=dataclasses.replace(fetch.state, backfill=None))


def render(session, row: models.OutboxMessage) -> dict:
    return {"text": f"{row.kind} of mention {row.mention_id}"}


def rss_mib() -> float:
    """This process's resident memory (VmRSS), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclasses.dataclass
class Replica:
    """One `socialbot run` as far as the storm goes: an engine, a leader lock, a sender."""

    engine: object
    factory: object
    leader: PostgresLeader | None
    sender: OutboxSender


class ThrowawayDatabase:
    """A database created on the server of `server` for one run, dropped afterwards."""

    def __init__(self, server: str) -> None:
        self.server = normalize_url(server)
        self.name = f"socialbot_storm_{secrets.token_hex(4)}"
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT",
                                   poolclass=NullPool)
        with self.admin.connect() as conn:
            self.version = conn.scalar(text("SHOW server_version"))
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def run(n: int, every: int, *, keep_gaps: bool, url: str, replicas: int = 1,
        clicks: int = 0, click_every: int = 60, tmp: Path | None = None,
        budget: float | None = None, stop_when_read: bool = False, urgent: bool = True,
        calm_gc: bool = True) -> dict:
    upgrade_to_head(url)
    clock = [START]
    fake = FakeX(clock=lambda: clock[0].timestamp()).start()
    slack = FakeSlack(ts_clock=lambda: clock[0].timestamp()).start()
    pool: list[Replica] = []
    clicker: StormClicks | None = None
    try:
        if clicks:
            assert tmp is not None
            clicker = StormClicks(url, slack.url, lambda: clock[0], tmp, clicks)
        if calm_gc:
            collect_less()  # as `socialbot run` does once set up (bot.app.serve)
        slack.rate_limit_posts(1.0, 3, clock=lambda: clock[0].timestamp())
        for _ in range(replicas):
            engine = make_engine(url)
            factory = make_session_factory(engine)
            # A key of the bench's own: the lock is per database, but tests that look for
            # the leader's lock in pg_locks see every database's.
            leader = PostgresLeader(url, key=BENCH_LOCK_KEY) if replicas > 1 else None
            sender = OutboxSender(factory, sender_client("xoxb-storm", slack.api_url, timeout=5),
                                  render, lambda: clock[0])
            pool.append(Replica(engine, factory, leader, sender))
        factory = pool[0].factory
        spec = SPEC if budget is None else SPEC.model_copy(update={"monthly_budget": budget})
        # The baseline is main before issue 18: no gap kept, no urgent search.
        cues = urgent_cues(RULES, network="x", source_id=spec.id) if urgent and keep_gaps else ()
        real = XMentionsSource(spec, RULES.brand, fake.client(), brand_user_id=BRAND_ID,
                               urgent=cues)
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
        pauses = GcPauses().start()
        wall = time.perf_counter()
        polls, next_poll, last_p1 = 0, storm_at, None
        pollers: Counter[int] = Counter()
        p1_ids: set[int] = set()
        memory: list[float] = [rss_mib()]  # before the storm is read
        last_burst = None
        for second in range(3600):
            if second % 10 == 0:
                memory.append(rss_mib())
            now = clock[0] = storm_at + timedelta(seconds=second)
            for r in pool:  # each replica's heartbeat (every 2 s in `run`; every round here)
                if r.leader is not None:
                    r.leader.check()
            leading = [i for i, r in enumerate(pool) if r.leader is None or r.leader.is_leader]
            if now >= next_poll and leading:
                poller = leading[0]
                outcome = poll_source(pool[poller].factory, source, RULES,
                                      clock=lambda: clock[0])
                polls += 1
                pollers[poller] += 1
                memory.append(rss_mib())
                # As `socialbot run` schedules it (bot.app.Runtime.poll → jobs.hurry): the
                # source's own pace while a gap is open. Rounds are whole seconds here, so
                # X's 11.1 s becomes 12 s (a poll at most a second later than in `run`).
                next_poll = now + (backfill_every(source) if outcome.gap_open
                                   else timedelta(seconds=every))
                with session_scope(factory) as s:
                    p1_ids = set(s.scalars(select(models.Mention.id)
                                           .where(models.Mention.priority == "P1")))
                # A burst every `click_every` simulated seconds while the gap is being read
                # (each click claims a card, which then goes out on its own: a desk's pace,
                # not one per second of wall time, which a slow simulation would multiply).
                if clicker is not None and outcome.gap_open and (
                        last_burst is None or now - last_burst >= timedelta(seconds=click_every)
                ) and clicker.burst():  # acks measured while the storm is being read
                    last_burst = now
            for r in pool:
                r.sender.run_once(now)
            posted = {m["metadata"]["event_payload"].get("mention_id") for m in slack.posts()}
            if p1_ids and p1_ids <= posted and last_p1 is None and len(p1_ids) == 3:
                last_p1 = second
            with session_scope(factory) as s:
                gap = s.scalar(select(models.Source.backfill).where(models.Source.id == SPEC.id))
            if gap is None and pool[0].sender.depth() == 0:
                break  # everything read has been posted (or folded into a digest)
            if stop_when_read and gap is None and last_p1 is not None:
                break  # every post read and every P1 posted; the P4 flood not drained yet
        wall = time.perf_counter() - wall
        pauses.stop()
        if clicker is not None:
            clicker.stop()
        memory.append(rss_mib())
        with session_scope(factory) as s:
            stored = s.scalar(select(func.count()).select_from(models.Mention))
            reads = s.scalar(select(func.sum(models.SourceUsage.reads)))
        cards = Counter(m["metadata"]["event_payload"].get("mention_id") for m in slack.posts()
                        if m["metadata"]["event_type"] == "socialbot_card")
        posted = {m["metadata"]["event_payload"].get("mention_id") for m in slack.posts()}
        return {"stored": stored, "expected": n + 1, "p1_posted": len(p1_ids & posted),
                "last_p1": last_p1, "polls": polls, "pollers": len(pollers), "reads": reads,
                "wall": wall, "cards": len(slack.posts()),
                "twice": sum(c - 1 for c in cards.values() if c > 1),
                "rss": (memory[0], max(memory), memory[-1]), "seconds": second,
                "acks": clicker.acks if clicker else None,
                "claims": clicker.claims() if clicker else None,
                "load": os.getloadavg()[0], "x_peak": dict(fake.peak),
                "x_refused": dict(fake.refused),
                "gc": pauses.summary(clicker.acks.windows if clicker else []),
                "searches": sum(c.path == "/2/tweets/search/recent" for c in fake.calls)}
    finally:
        if clicker is not None:
            clicker.stop()
        for r in pool:
            if r.leader is not None:
                r.leader.stop()
            r.engine.dispose()  # type: ignore[attr-defined]
        fake.stop()
        slack.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=3000, help="mentions at once (default 3000)")
    p.add_argument("--every", type=int, default=int(SPEC.every.total_seconds()),
                   help="the source's every in seconds (the shipped rules': %(default)s)")
    p.add_argument("--pg", help="a PostgreSQL server URL: a throwaway database is created on "
                                "it (and dropped) instead of SQLite")
    p.add_argument("--replicas", type=int, default=1,
                   help="replicas sharing the database (PostgreSQL only; default 1)")
    p.add_argument("--clicks", type=int, default=50,
                   help="Claim clicks per burst at the bot's HTTP endpoint while the gap is "
                        "open (0: none; default 50)")
    p.add_argument("--click-every", type=int, default=60,
                   help="simulated seconds between bursts, at most one in flight "
                        "(default 60)")
    p.add_argument("--budget", type=float,
                   help="the source's monthly_budget in USD instead of the shipped rules' "
                        f"({SPEC.monthly_budget}: {SPEC.monthly_budget / SPEC.cost_per_read:,.0f} "
                        "reads, slowed from 80 %%)" if SPEC.monthly_budget else "monthly budget")
    p.add_argument("--no-urgent", action="store_true",
                   help="no urgent search for the P1 cues while a gap is open (as before)")
    p.add_argument("--python-gc", action="store_true",
                   help="leave Python's garbage collector as it comes (as before "
                        "bot.kit.acks.collect_less): a full collection every few polls")
    p.add_argument("--stop-when-read", action="store_true",
                   help="stop once the gap is closed and every P1 posted, before the P4 flood "
                        "has drained through digests (a long storm's drain costs wall time)")
    args = p.parse_args(argv)
    if args.replicas > 1 and not args.pg:
        p.error("--replicas needs --pg: SQLite serves one process")
    logging.basicConfig(level=logging.ERROR)  # the gap's WARNING at every poll is expected
    where = "SQLite" if not args.pg else f"PostgreSQL, {args.replicas} replica(s)"
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}; storm of {args.n:,} mentions (+1 before), 3 P1, "
          f"every {args.every}s, {where}, monthly budget "
          f"{args.budget or SPEC.monthly_budget} USD")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, keep in (("this code", True), ("baseline (gap dropped, as main did)", False)):
            db = ThrowawayDatabase(args.pg) if args.pg else None
            url = db.url if db else f"sqlite:///{Path(tmp) / ('storm.db' if keep else 'b.db')}"
            try:
                # Clicks only in this code's run: the baseline's gap closes at once.
                rows.append((name, run(args.n, args.every, keep_gaps=keep, url=url,
                                       replicas=args.replicas,
                                       clicks=args.clicks if keep else 0,
                                       click_every=args.click_every, tmp=Path(tmp),
                                       budget=args.budget,
                                       stop_when_read=args.stop_when_read,
                                       urgent=not args.no_urgent,
                                       calm_gc=not args.python_gc)))
            finally:
                if db is not None:
                    db.drop()
    print(f"{'':38} {'stored':>15} {'P1 posted':>9} {'last P1':>8} {'polls':>9} "
          f"{'posts read':>10} {'twice':>5} {'RSS MiB first/peak/end':>22} {'wall':>7}")
    for name, r in rows:
        last = f"{r['last_p1']} s" if r["last_p1"] is not None else "never"
        polls = f"{r['polls']} by {r['pollers']}"
        rss = "/".join(f"{m:.0f}" for m in r["rss"])
        print(f"{name:38} {r['stored']:>7,}/{r['expected']:<7,} {r['p1_posted']:>7}/3 "
              f"{last:>8} {polls:>9} {r['reads'] or 0:>10,} {r['twice']:>5} {rss:>22} "
              f"{r['wall']:>6.1f}s")
    for name, r in rows:
        if r["acks"] is not None:
            print(f"{name}: acks during the storm (target p99 < 250 ms): {r['acks'].summary()}; "
                  f"claims applied {r['claims']}/{len(r['acks'].clicked)}")
            print(f"{name}: garbage collector while the storm was read: {r['gc']}")
        print(f"{name}: load average at its end {r['load']:.1f}, simulated {r['seconds']} s; "
              f"X requests, most in one 15-min window per endpoint {r['x_peak']} (limit 450), "
              f"429s {r['x_refused'] or 0}, urgent searches {r['searches']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
