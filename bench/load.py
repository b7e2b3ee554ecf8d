"""Sustained load: 10 mentions/s ingested plus 20 clicks/s for 5 minutes, with the bot's memory.

    python bench/load.py [--seconds 300] [--mentions-per-second 10] [--clicks-per-second 20]
                         [--pg URL]

The bot runs as `socialbot run --http PORT` in a subprocess, exactly as deployed, on SQLite in
a temporary directory (or a throwaway PostgreSQL database with --pg), against a fake Slack on
127.0.0.1 (tests/support/fake_slack.py). Its one source is an Atom feed served on 127.0.0.1 that
publishes --mentions-per-second new entries a second (customer-care texts, a mix of
complaints, questions and praise, each entry new), polled every 15 s (the shortest interval
the rules allow), so each poll brings about 150 new entries. Meanwhile this process
sends --clicks-per-second signed Claim / Unclaim clicks (each button value read from the card
as the bot renders it) to `POST /slack/events` at a fixed rate, from a pool of threads, and
samples the bot's resident memory (VmRSS) every 5 seconds.

Prints: mentions stored and cards posted per second, ack latency of the clicks (p50/p99, and
how many were not answered 200), and the memory curve: the averages of the second minute (after
the warm-up) and of the last one, and the growth between them ("flat" is under 10 %). A benchmark, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bot.desk import commands as desk  # noqa: E402
from bot.domain.rules.load import load_rules  # noqa: E402
from bot.kit.db import make_engine, make_session_factory, normalize_url, upgrade_to_head  # noqa: E402
from bot.kit.models import Mention  # noqa: E402
from bot.slack import blocks  # noqa: E402
from bot.slack.ids import Action  # noqa: E402
from tests.support.bot_server import SIGNING_SECRET, BotServer  # noqa: E402
from tests.support.fake_slack import FakeSlack  # noqa: E402

FORM = "application/x-www-form-urlencoded"
SAMPLE_EVERY = 5.0  # seconds between memory samples
FLAT = 0.10  # memory growth under this share, first minute to last, counts as flat
TEXTS = [
    "@NorthwindAir flight {n} delayed again, still waiting at the gate with no update",
    "@NorthwindAir my bag did not arrive on NW{n}, who do I talk to?",
    "Thanks @NorthwindAir, the crew on NW{n} were lovely today",
    "@NorthwindAir charged twice for seat {n}A, I want a refund",
    "Is the Northwind Air lounge at gate {n} open on Sundays?",
    "Northwind Air cancelled NW{n} and nobody answers the phone. Unacceptable!!",
    "Booked NW{n} with Northwind Air for the holidays, smooth app experience",
    "@NorthwindAir on hold for {n} minutes, this is ridiculous",
]


# --trace-memory: the bot runs under tracemalloc and writes a snapshot on each SIGUSR2; the
# allocations that grew between the second minute and the end are printed, by line.
TRACE = {"on": False}
TRACED_BOT = """
import signal, sys, tracemalloc
from pathlib import Path
tracemalloc.start(8)
out, n = Path(sys.argv[1]), [0]
def dump(*_):
    n[0] += 1
    tracemalloc.take_snapshot().dump(str(out / f"mem{n[0]}.snap"))
signal.signal(signal.SIGUSR2, dump)
from bot.cli import main
sys.exit(main(sys.argv[2:]))
"""


def traced_growth(tmp: Path, top: int = 12) -> None:
    import tracemalloc

    snaps = sorted(tmp.glob("mem*.snap"))
    if len(snaps) < 2:
        print("  (no memory snapshots)")
        return
    first, last = (tracemalloc.Snapshot.load(str(p)) for p in (snaps[0], snaps[-1]))
    print(f"  allocations that grew most from {snaps[0].name} to {snaps[-1].name}:")
    for stat in last.compare_to(first, "lineno")[:top]:
        print(f"    {stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks  "
              f"{stat.traceback[0].filename.split('site-packages/')[-1]}:"
              f"{stat.traceback[0].lineno}")


# --- the feed the bot polls --------------------------------------------------------------------

class Feed:
    """An Atom feed publishing `rate` new entries per second from `start`, newest 400 listed."""

    def __init__(self, rate: float) -> None:
        self.rate, self.start = rate, time.time()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"

    def published(self) -> int:
        return int((time.time() - self.start) * self.rate)

    def xml(self) -> bytes:
        n = self.published()
        entries = []
        for k in range(max(0, n - 400), n):
            at = datetime.fromtimestamp(self.start + k / self.rate, UTC)
            body = escape(TEXTS[k % len(TEXTS)].format(n=100 + k))
            entries.append(
                f"<entry><id>tag:load.example,2026:{k}</id><title>{body}</title>"
                f"<link href=\"https://news.load.example/{k}\"/>"
                f"<published>{at:%Y-%m-%dT%H:%M:%S.%fZ}</published>"
                f"<updated>{at:%Y-%m-%dT%H:%M:%S.%fZ}</updated>"
                f"<content type=\"html\">{body}</content></entry>")
        return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>"
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>load</title>"
                f"<updated>{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}</updated>"
                + "".join(reversed(entries)) + "</feed>").encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                data = feed.xml()
                self.send_response(200)
                self.send_header("Content-Type", "application/atom+xml")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Last-Modified", format_datetime(datetime.now(UTC), usegmt=True))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the bot ------------------------------------------------------------------------------------

def rules_file(tmp: Path, feed_url: str) -> Path:
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    # The feed is served on 127.0.0.1: a private address a feed may reach only when allowed.
    data["sources"] = [{"id": "load-feed", "type": "rss", "url": feed_url, "every": "15s",
                        "allow_private": True}]
    path = tmp / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_bot(tmp: Path, database_url: str, rules: Path, slack_url: str) -> tuple[
        subprocess.Popen, int, Path]:
    port = free_port()
    log = tmp / "bot.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "X_", "DATABASE", "MASTODON_", "BLUESKY_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-load", SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=slack_url, DATABASE_URL=database_url, SOCIALBOT_RULES=str(rules))
    with log.open("w") as err:
        command = ([sys.executable, "-c", TRACED_BOT, str(tmp)] if TRACE["on"]
                   else [sys.executable, "-m", "bot"])
        proc = subprocess.Popen([*command, "run", "--http", str(port)],
                                cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + (300 if TRACE["on"] else 60)  # tracemalloc is slow
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc, port, log
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    raise SystemExit(f"the bot did not start:\n{log.read_text()[-3000:]}")


def status_of(pid: int, field: str) -> int:
    """A number from /proc/PID/status: VmRSS (KiB), Threads…"""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    return status_of(pid, "VmRSS")


# --- the clicks -----------------------------------------------------------------------------------

class Clicker:
    """Claim a new mention, later Unclaim it as the same user: a desk at work, at a fixed rate."""

    def __init__(self, factory, rules, bot: BotServer, respond_url: str) -> None:
        self.factory, self.rules, self.bot, self.respond = factory, rules, bot, respond_url
        self.claimed: list[tuple[int, str]] = []  # (mention id, by) waiting to be unclaimed
        self.users = (f"U0LOAD{i:03d}" for i in range(10**9))
        self.ms: list[float] = []
        self.not_ok = 0
        self.lock = threading.Lock()
        self.rng = random.Random(7)

    def next_body(self) -> str | None:
        with self.lock:
            if self.claimed and (len(self.claimed) > 50 or self.rng.random() < 0.5):
                mention_id, user = self.claimed.pop(0)
                action = Action.UNCLAIM
            else:
                with self.factory() as s:
                    mention_id = s.scalar(select(Mention.id).where(Mention.status == "new")
                                          .order_by(func.random()).limit(1))
                if mention_id is None:
                    return None
                user, action = next(self.users), Action.CLAIM
                self.claimed.append((mention_id, user))
        return self.body(mention_id, user, action)

    def body(self, mention_id: int, user: str, action: Action) -> str | None:
        with self.factory() as s:
            view = desk.card_view(s, self.rules, mention_id)
        card = blocks.card(view)
        button = next((e for b in card["blocks"] for e in b.get("elements", [])
                       if e.get("action_id") == action.value), None)
        if button is None:  # the card moved on meanwhile (a digest, a refresh): skip it
            return None
        channel = self.rules.teams[view.team].channel
        payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T111"},
                   "api_app_id": "A111", "channel": {"id": channel},
                   "container": {"type": "message", "channel_id": channel},
                   "trigger_id": f"trigger-{user}", "response_url": self.respond,
                   "message": {"ts": "1"},
                   "actions": [{"action_id": button["action_id"], "block_id": "b",
                                "type": "button", "value": button["value"]}]}
        return urlencode({"payload": json.dumps(payload)})

    def click(self) -> None:
        body = self.next_body()
        if body is None:
            return
        t0 = time.perf_counter()
        try:
            status = self.bot.post("/slack/events", body, content_type=FORM).status
        except OSError:
            status = -1
        ms = (time.perf_counter() - t0) * 1000
        with self.lock:
            self.ms.append(ms)
            self.not_ok += status != 200


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1] \
        if len(values) > 1 else (values[0] if values else float("nan"))


def run(args: argparse.Namespace, tmp: Path, database_url: str) -> None:
    upgrade_to_head(database_url)
    fake = FakeSlack().start()
    feed = Feed(args.mentions_per_second)
    rules_path = rules_file(tmp, feed.url)
    proc, port, log = start_bot(tmp, database_url, rules_path, fake.api_url)
    engine = make_engine(database_url, poolclass=NullPool)
    factory = make_session_factory(engine)
    clicker = Clicker(factory, load_rules(rules_path), BotServer(f"http://127.0.0.1:{port}", None),  # type: ignore[arg-type]
                      fake.url + "respond/T111/1/x")
    samples: list[tuple[float, int]] = []
    threads: list[int] = []  # the bot's thread count at each sample
    pool = ThreadPoolExecutor(max_workers=16)
    t0 = time.monotonic()
    next_sample = next_click = t0
    try:
        while (now := time.monotonic()) - t0 < args.seconds:
            if now >= next_sample:
                samples.append((now - t0, rss_kib(proc.pid)))
                threads.append(status_of(proc.pid, "Threads"))
                next_sample += SAMPLE_EVERY
                if TRACE["on"] and len(samples) == int(90 / SAMPLE_EVERY):
                    proc.send_signal(signal.SIGUSR2)  # the after-warm-up snapshot
            if now >= next_click:
                pool.submit(clicker.click)
                next_click += 1 / args.clicks_per_second
            if proc.poll() is not None:
                raise SystemExit(f"the bot died:\n{log.read_text()[-3000:]}")
            time.sleep(max(0.0, min(next_sample, next_click) - time.monotonic()))
        elapsed = time.monotonic() - t0
        pool.shutdown(wait=True)
        with factory() as s:
            stored = s.scalar(select(func.count()).select_from(Mention)) or 0
    finally:
        if TRACE["on"] and proc.poll() is None:
            proc.send_signal(signal.SIGUSR2)
            time.sleep(20)  # a snapshot of a big heap takes a while to write
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        feed.stop()
        fake.stop()
        engine.dispose()
    cards = len([c for c in fake.calls_to("chat.postMessage") if c.status == 200])
    print(f"ran {elapsed:.0f} s; feed published {feed.published():,} entries")
    print(f"  ingest: {stored:,} mentions stored = {stored / elapsed:.1f}/s "
          f"(offered {args.mentions_per_second:g}/s); Slack posts (cards, digests, threads) "
          f"{cards:,}, updates {len(fake.calls_to('chat.update')):,}")
    print(f"  clicks: {len(clicker.ms):,} sent = {len(clicker.ms) / elapsed:.1f}/s; ack p50 "
          f"{percentile(clicker.ms, 0.5):.1f} ms, p99 {percentile(clicker.ms, 0.99):.1f} ms, "
          f"max {max(clicker.ms, default=float('nan')):.1f} ms; not 200: {clicker.not_ok}")
    # After a warm-up minute (imports, connection pools, statement and page caches filling).
    second = [kib for t, kib in samples if 60 <= t < 120] or [samples[-1][1]]
    last = [kib for t, kib in samples if t >= elapsed - 60]
    first_avg, last_avg = statistics.mean(second), statistics.mean(last)
    growth = (last_avg - first_avg) / first_avg
    per_minute = (last_avg - first_avg) / 1024 / max(1.0, (elapsed - 150) / 60)
    print(f"  memory (VmRSS of the bot): second minute {first_avg / 1024:.1f} MiB, last minute "
          f"{last_avg / 1024:.1f} MiB, max {max(k for _, k in samples) / 1024:.1f} MiB; growth "
          f"{growth:+.1%} ({per_minute:+.1f} MiB/min) [{'flat' if growth < FLAT else 'GROWING'}]")
    print("  samples (s: MiB, threads): " + ", ".join(
        f"{t:.0f}: {k / 1024:.0f}, {n}" for (t, k), n in zip(samples[::6], threads[::6],
                                                          strict=True)))
    if TRACE["on"]:
        traced_growth(tmp)
    errors = [ln for ln in log.read_text().splitlines() if " ERROR " in ln or "Traceback" in ln]
    print(f"  bot log: {len(errors)} error line(s)" + (f"; first: {errors[0][:200]}"
                                                       if errors else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--mentions-per-second", type=float, default=10)
    ap.add_argument("--clicks-per-second", type=float, default=20)
    ap.add_argument("--pg", help="PostgreSQL server URL (a throwaway database is made there)")
    ap.add_argument("--trace-memory", action="store_true",
                    help="run the bot under tracemalloc and print what grew (slow)")
    args = ap.parse_args(argv)
    TRACE["on"] = args.trace_memory
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}; "
          f"CPUs: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    print(f"load: {args.mentions_per_second:g} mentions/s + {args.clicks_per_second:g} clicks/s "
          f"for {args.seconds:g} s")
    with tempfile.TemporaryDirectory(prefix="socialbot-load-") as tmp:
        if not args.pg:
            print("database: SQLite (temp file)")
            run(args, Path(tmp), f"sqlite:///{Path(tmp) / 'load.db'}")
            return 0
        server = normalize_url(args.pg)
        name = f"socialbot_l_{secrets.token_hex(6)}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print(f"database: PostgreSQL (throwaway database {name})")
            run(args, Path(tmp), server.set(database=name).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
