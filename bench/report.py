"""`/social report 30d` on a big database: SQLite and PostgreSQL, and the slash command's ack.

    python bench/report.py [--n 1000000] [--repeat 3] [--pg URL] [--no-pg] [--no-ack]

1. Fills a database with `--n` mentions over the last 90 days (a seeded RNG, realistic mix:
   networks, teams, sentiments, languages, complaints, priorities with their SLAs — 10 % of rows without one, as rows
   older than SLA timers —, ~70 % answered with log-normal response times, closes and
   dismissals, outcomes and their tags, drafts and approvals with rejections, authors with a
   long-tailed (Pareto) follower count, a daily rhythm), with bulk inserts: DB-API
   `executemany` in batches of 50,000 on SQLite, `COPY … FROM STDIN` (psycopg) on PostgreSQL.
   SQLite is a file in a temporary directory; PostgreSQL a throwaway database
   `socialbot_rb_<random>` created on the server `--pg` (or TEST_DATABASE_URL, or
   postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names and dropped at the end.
   The schema comes from the real migrations (with the report index `ix_mention_report`).
   After the load PostgreSQL gets VACUUM ANALYZE (what autovacuum does to a table that has
   grown: statistics, and the visibility map that lets the report's scans be index-only)
   and SQLite gets ANALYZE (statistics for its planner), as a production database would have.
2. Times `/social report 30d` as the listener runs it after its ack
   (`ReportService.answer`: every query, the Block Kit message and the PNG chart), `--repeat`
   times; the first run is reported apart (cold caches), and the queries alone.
3. The ack: the real runtime and Bolt app behind the real HTTP server (as in tests/e2e), the
   SQLite database above, a fake Slack on 127.0.0.1: a signed `/social report 30d` is POSTed,
   and the time to the HTTP answer (the ack) and to the figures reaching the fake are printed;
   then a second command sent while a report is being computed, to show the ack doesn't wait.

Targets (issue 5): < 3 s on SQLite, < 1 s on PostgreSQL, ack < 3 s regardless.
A benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.domain.rules.load import load_rules  # noqa: E402
from bot.kit.db import make_engine, make_session_factory, normalize_url, upgrade_to_head  # noqa: E402
from bot.reports.period import parse_period  # noqa: E402
from bot.reports.queries import compute_report  # noqa: E402
from bot.reports.service import ReportService  # noqa: E402

BATCH = 50_000
DAYS = 90
SQLITE_TARGET, PG_TARGET, ACK_TARGET = 3.0, 1.0, 3.0
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NETWORKS = (["x", "mastodon", "bluesky", "rss"], [0.55, 0.10, 0.15, 0.20])
TEAMS = (["care", "baggage", "pr", "sales"], [0.50, 0.20, 0.15, 0.15])
SENTIMENTS = (["negative", "neutral", "positive"], [0.40, 0.35, 0.25])
# The network's tag or the detected one; the report counts primary subtags ("en-US" is "en").
LANGS = (["en", "en-US", "es", "fr", "pt-BR", "de", "sw", "ar", "und"],
         [0.78, 0.05, 0.06, 0.03, 0.02, 0.02, 0.01, 0.01, 0.02])
PRIORITIES = (["P1", "P2", "P3", "P4"], [0.03, 0.17, 0.40, 0.40])
SLA_SECONDS = np.array([15 * 60, 3600, 4 * 3600, 86400])
OUTCOMES = (["resolved", "case_opened", "lead", "feature_request", "competitor_intel",
             "no_action"], [0.50, 0.15, 0.08, 0.07, 0.05, 0.15])
# Mentions per hour of day (UTC): quiet nights, busy office hours and evenings.
DIURNAL = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 7, 7, 6, 5, 4, 3],
                   dtype=float)
TEXTS = ["my flight was delayed again", "lost my bag at the airport, nobody answers",
         "great crew today, thank you", "is there wifi on the A321?", "refund still not here",
         "switching to another airline after this", "booking site keeps crashing",
         "lovely upgrade, cheers", "my lawyer will hear about this", "seat 12C was broken",
         "how do I change my booking?", "on hold for two hours", "best landing ever"]
MENTION_COLS = ("id", "network", "external_id", "url", "text", "lang", "complaint", "author_id",
                "created_at", "ingested_at", "compound", "sentiment", "author_type", "score",
                "score_parts", "priority", "team", "risk", "approval_required",
                "matched_rules", "mentions_brand", "extra", "status", "version",
                "claimed_by", "claimed_at", "sla_due_at", "first_response_at", "closed_at",
                "outcome")
AUTHOR_COLS = ("id", "network", "handle", "name", "followers", "author_type",
               "first_seen_at", "last_seen_at", "mention_count")
TAG_COLS = ("mention_id", "outcome", "tagged_by", "tagged_at")
DRAFT_COLS = ("mention_id", "text", "author", "created_at", "decision", "decided_by",
              "decided_at", "reason")
# --- data ----------------------------------------------------------------------------------

def _stamp(seconds: np.ndarray, pg: bool) -> list[str | None]:
    """Epoch seconds (float, NaN for NULL) → the text each backend stores/parses."""
    us = np.where(np.isnan(seconds), 0, seconds * 1e6).astype("int64")
    strings = np.datetime_as_string(us.astype("datetime64[us]"), unit="us")
    out = np.char.replace(strings, "T", " ")
    if pg:
        out = np.char.add(out, "+00")
    return [None if n else s for s, n in zip(out.tolist(), np.isnan(seconds).tolist(),
                                             strict=True)]


def _pick(rng: np.random.Generator, choice: tuple[list[str], list[float]], n: int) -> np.ndarray:
    return rng.choice(np.array(choice[0]), size=n, p=choice[1])


def authors(n_authors: int, now: datetime, pg: bool, seed: int = 7) -> Iterator[list[tuple]]:
    rng = np.random.default_rng(seed)
    start = (now - timedelta(days=DAYS)).timestamp()
    for lo in range(0, n_authors, BATCH):
        k = min(BATCH, n_authors - lo)
        ids = np.arange(lo + 1, lo + k + 1)
        followers = np.minimum((rng.pareto(1.1, k) + 1) * 20, 50_000_000).astype(int)
        nets = _pick(rng, NETWORKS, k)
        seen = _stamp(np.full(k, start), pg)
        yield [(int(i), str(net), f"user{i}", f"User {i}", int(f),
                "influencer" if f >= 10_000 else "customer", s, s, 0)
               for i, net, f, s in zip(ids.tolist(), nets.tolist(), followers.tolist(), seen,
                                       strict=True)]


def mentions(n: int, n_authors: int, now: datetime, pg: bool,
             seed: int = 11) -> Iterator[tuple[list[tuple], list[tuple], list[tuple]]]:
    """(mention rows, outcome_tag rows, draft rows) per batch."""
    end = now.timestamp() - 60
    start = end - DAYS * 86400
    hour_w = DIURNAL / DIURNAL.max()
    for b, lo in enumerate(range(0, n, BATCH)):
        rng = np.random.default_rng(seed + b)
        k = min(BATCH, n - lo)
        ids = np.arange(lo + 1, lo + k + 1)
        # Ids grow with time, as ingest writes them: batch b covers its slice of the 90 days.
        lo_t, hi_t = start + (end - start) * lo / n, start + (end - start) * (lo + k) / n
        cand = rng.uniform(lo_t, hi_t, 3 * k)  # a daily rhythm by rejection sampling
        keep = rng.random(3 * k) < hour_w[((cand % 86400) // 3600).astype(int)]
        picked = cand[keep][:k]
        if len(picked) < k:  # a slice all in the quiet hours: fill it without the rhythm
            picked = np.concatenate([picked, rng.uniform(lo_t, hi_t, k - len(picked))])
        ingested = np.sort(picked)
        net = _pick(rng, NETWORKS, k)
        team = _pick(rng, TEAMS, k)
        sent = _pick(rng, SENTIMENTS, k)
        prio = _pick(rng, PRIORITIES, k)
        pidx = np.searchsorted(np.array(PRIORITIES[0]), prio)
        compound = np.where(sent == "negative", rng.uniform(-1, -0.05, k),
                            np.where(sent == "neutral", rng.uniform(-0.05, 0.05, k),
                                     rng.uniform(0.05, 1, k))).round(4)
        score = (np.array([85, 60, 40, 15])[pidx] + rng.integers(-10, 10, k)).clip(0, 100)
        r = rng.random(k)
        risk = np.where(r < 0.02, '["legal"]', np.where(r < 0.03, '["regulatory"]',
                                                        np.where(r < 0.06, '["privacy"]', "[]")))
        approval = (prio == "P1") | (r < 0.03) | (rng.random(k) < 0.10)
        author = (n_authors * rng.random(k) ** 2.5).astype(int) + 1  # some authors write a lot
        answered = rng.random(k) < 0.70
        fr = ingested + rng.lognormal(np.log(1500), 1.0, k) / np.where(prio == "P1", 3, 1)
        fr = np.where(answered & (fr < end), fr, np.nan)
        answered = ~np.isnan(fr)
        sla = np.where(rng.random(k) < 0.10, np.nan, ingested + SLA_SECONDS[pidx])
        u = rng.random(k)
        status = np.where(answered, np.where(u < 0.85, "closed", np.where(u < 0.95, "sent",
                                                                          "claimed")),
                          np.where(u < 0.6, "closed", "new"))
        closed = np.where(answered, fr + rng.lognormal(np.log(7200), 1.0, k),
                          ingested + rng.lognormal(np.log(10800), 1.0, k))
        closed = np.where((status == "closed") & (closed < end), closed, np.nan)
        status = np.where((status == "closed") & np.isnan(closed),
                          np.where(answered, "sent", "new"), status)
        outcome = np.where(answered, _pick(rng, OUTCOMES, k), "no_action")
        outcome = np.where(status == "closed", outcome, None)
        tagged = (status == "closed") & answered  # dismissals carry the outcome, no tag
        texts = rng.integers(0, len(TEXTS), k)
        lang = _pick(rng, LANGS, k)
        # Complaints: most negative posts, some neutral ones (a question about a refund).
        complaint = rng.random(k) < np.where(sent == "negative", 0.75,
                                             np.where(sent == "neutral", 0.15, 0.02))
        s_ing, s_fr, s_sla, s_closed = (_stamp(a, pg) for a in (ingested, fr, sla, closed))
        s_created = _stamp(ingested - 30, pg)
        rows = []
        for i in range(k):
            mid = int(ids[i])
            rows.append((
                mid, str(net[i]), str(mid), f"https://example.com/{net[i]}/{mid}",
                f"{TEXTS[texts[i]]} #{mid}", str(lang[i]), bool(complaint[i]), int(author[i]),
                s_created[i], s_ing[i],
                float(compound[i]), str(sent[i]), "customer", int(score[i]), "{}",
                str(prio[i]), str(team[i]), str(risk[i]), bool(approval[i]), "[]", True,
                "{}", str(status[i]), 1, "U0AGENT" if answered[i] else None, s_fr[i],
                s_sla[i], s_fr[i], s_closed[i], outcome[i]))
        tags = [(int(ids[i]), str(outcome[i]), "U0AGENT", s_closed[i])
                for i in np.flatnonzero(tagged).tolist()]
        drafts = []
        needs = np.flatnonzero(approval & answered & np.isin(status, ["sent", "closed"]))
        created = fr[needs] + 300
        wait = rng.lognormal(np.log(1200), 0.8, len(needs))
        rejected = rng.random(len(needs)) < 0.15
        c1, d1 = _stamp(created, pg), _stamp(created + wait, pg)
        c2 = _stamp(created + wait + 300, pg)
        d2 = _stamp(created + wait + 300 + wait / 2, pg)
        for j, i in enumerate(needs.tolist()):
            if rejected[j]:
                drafts.append((int(ids[i]), "draft", "U0AGENT", c1[j], "rejected", "U0LEAD",
                               d1[j], "tone"))
                drafts.append((int(ids[i]), "draft 2", "U0AGENT", c2[j], "approved", "U0LEAD",
                               d2[j], None))
            else:
                drafts.append((int(ids[i]), "draft", "U0AGENT", c1[j], "approved", "U0LEAD",
                               d1[j], None))
        yield rows, tags, drafts


def fill(url: str, n: int, now: datetime) -> tuple[float, dict[str, int]]:
    """Bulk-load `n` mentions into the migrated database at `url`; (seconds, row counts)."""
    pg = make_url(url).get_backend_name() == "postgresql"
    n_authors = max(1_000, n // 5)
    counts = {"author": 0, "mention": 0, "outcome_tag": 0, "draft": 0}
    t0 = time.perf_counter()
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if not pg:
            cur.execute("PRAGMA synchronous=OFF")  # a bench load; the app keeps its defaults

        def put(table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
            counts[table] += len(rows)
            if not rows:
                return
            if pg:
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in cols)
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                                rows)

        for rows in authors(n_authors, now, pg):
            put("author", AUTHOR_COLS, rows)
        raw.commit()
        for rows, tags, drafts in mentions(n, n_authors, now, pg):
            put("mention", MENTION_COLS, rows)
            put("outcome_tag", TAG_COLS, tags)
            put("draft", DRAFT_COLS, drafts)
            raw.commit()
            done = counts["mention"]
            print(f"\r  loaded {done:,}/{n:,} mentions", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        if pg:
            for table in ("author", "mention"):  # explicit ids: move the sequences past them
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")
            raw.commit()
            driver = raw.driver_connection  # VACUUM can't run in a transaction
            driver.autocommit = True
            driver.execute("VACUUM ANALYZE")
            driver.autocommit = False
        else:
            cur.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - t0, counts


# --- timing --------------------------------------------------------------------------------

def quiet_rules(tmp: Path) -> Path:
    """The shipped rules without sources: nothing polls the internet."""
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["sources"] = []
    path = tmp / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def time_report(url: str, rules_path: Path, now: datetime, repeat: int) -> dict[str, object]:
    rules = load_rules(rules_path)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    service = ReportService(factory, lambda: rules, lambda: now)
    try:
        runs = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            ans = service.answer("30d")
            runs.append(time.perf_counter() - t0)
        queries = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            with factory() as s:
                compute_report(s, rules, parse_period("30d", now), now=now,
                               more_sessions=factory)
            queries.append(time.perf_counter() - t0)
    finally:
        engine.dispose()
    return {"first": runs[0], "warm": runs[1:], "queries": queries,
            "mentions_in_period": ans.report.total, "png_bytes": len(ans.png),
            "blocks": len(ans.content["blocks"])}


def show(label: str, r: dict[str, object], target: float) -> None:
    warm = r["warm"]
    med = statistics.median(warm)
    print(f"  {label}: /social report 30d ({r['mentions_in_period']:,} mentions in the period):"
          f" first {r['first']:.2f} s, then median {med:.2f} s (min {min(warm):.2f}, max "
          f"{max(warm):.2f}) — target < {target:g} s: {'met' if med < target else 'NOT met'}")
    print(f"    of which the SQL: median {statistics.median(r['queries']):.2f} s; "
          f"chart {r['png_bytes']:,} bytes, {r['blocks']} blocks")


def ack_times(url: str, tmp: Path) -> None:
    from bot.app import Runtime, build_app
    from bot.config import Settings
    from bot.kit.http import make_http_server, wsgi_app
    from tests.support.bot_server import SIGNING_SECRET, BotServer
    from tests.support.fake_slack import FakeSlack

    fake = FakeSlack().start()
    logging.getLogger("slack_bolt.App").addFilter(lambda r: "will be unused" not in r.getMessage())
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-bench",
                        SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
                        DATABASE_URL=url)
    runtime = Runtime(settings, load_rules(quiet_rules(tmp)))
    runtime.start()
    app = build_app(settings, runtime.services)
    server = make_http_server(wsgi_app(app, runtime.healthy, runtime.metrics.registry,
                                       signing_secret=SIGNING_SECRET), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bot = BotServer(f"http://127.0.0.1:{server.server_address[1]}", runtime)

    def command(words: str, n: int) -> str:
        return urlencode({"team_id": "T111", "channel_id": "C0CARE00001", "user_id": "U0ANA",
                          "command": "/social", "text": words,
                          "response_url": f"{fake.url}respond/T111/{n}/x",
                          "trigger_id": f"t{n}"})
    try:
        print("ack: signed /social over real HTTP, the SQLite database above "
              f"(target < {ACK_TARGET:g} s)")
        t0 = time.perf_counter()
        resp = bot.post("/slack/events", command("report 30d", 1), content_type="application/"
                        "x-www-form-urlencoded")
        ack = time.perf_counter() - t0
        # A second command while the first report is still being computed.
        t1 = time.perf_counter()
        bot.post("/slack/events", command("help", 2), content_type="application/"
                 "x-www-form-urlencoded")
        ack2 = time.perf_counter() - t1
        fake.wait_for_call(lambda c: c.method == "respond" and "Social report"
                           in str(c.params.get("blocks")), timeout=120)
        done = time.perf_counter() - t0
        print(f"  /social report 30d: HTTP {resp.status}, acked in {ack * 1000:.0f} ms; "
              f"figures reached Slack after {done:.2f} s (chart uploaded first: "
              f"{len(fake.files())} file)")
        print(f"  /social help sent during that report: acked in {ack2 * 1000:.0f} ms")
    finally:
        server.shutdown()
        server.server_close()
        runtime.stop()
        fake.stop()


# --- main ----------------------------------------------------------------------------------

def pg_database(server: str) -> tuple[str, Callable[[], None]]:
    server_url = normalize_url(server)
    name = f"socialbot_rb_{secrets.token_hex(5)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server_url.set(database=name).render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="mentions (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", help="PostgreSQL server URL (default: TEST_DATABASE_URL or "
                                 f"{DEFAULT_PG})")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-ack", action="store_true")
    args = ap.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"bench/report.py: {args.n:,} mentions over {DAYS} days; Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, load {load[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        rules_path = quiet_rules(tmp)
        sqlite_url = f"sqlite:///{tmp / 'report.db'}"
        upgrade_to_head(sqlite_url)
        secs, counts = fill(sqlite_url, args.n, now)
        size = (tmp / "report.db").stat().st_size / 1e6
        print(f"SQLite: loaded {counts} in {secs:.1f} s "
              f"({counts['mention'] / secs:,.0f} mentions/s), file {size:,.0f} MB")
        show("SQLite", time_report(sqlite_url, rules_path, now, args.repeat), SQLITE_TARGET)
        if not args.no_ack:
            ack_times(sqlite_url, tmp)
        if not args.no_pg:
            server = args.pg or os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
            try:
                pg_url, drop = pg_database(server)
            except Exception as exc:  # no server: say so, the SQLite figures stand
                print(f"PostgreSQL: skipped, cannot create a database on {server}: "
                      f"{type(exc).__name__}")
                pg_url, drop = None, None
            if pg_url is not None:
                try:
                    upgrade_to_head(pg_url)
                    secs, counts = fill(pg_url, args.n, now)
                    print(f"PostgreSQL: loaded {counts} in {secs:.1f} s "
                          f"({counts['mention'] / secs:,.0f} mentions/s, COPY)")
                    show("PostgreSQL", time_report(pg_url, rules_path, now, args.repeat),
                         PG_TARGET)
                finally:
                    drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
