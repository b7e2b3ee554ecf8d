"""kill -9 of `socialbot run` in the middle of a poll, then a restart: every mention stored once.

The bot runs as a subprocess (`python -m bot run --http PORT`) on a database file, with one RSS
source on a local feed, against the fake Slack. The crash points are made from the outside,
with no hook in the bot:

* between fetch and commit (SQLite): the feed is a named pipe, so the first poll blocks in its
  fetch until the test writes the feed; before writing it the test takes SQLite's write lock
  (`BEGIN IMMEDIATE`), so the poll parses, enriches and routes the 20 entries and then waits
  on its first INSERT (in `store_mentions`; about 0.2 s after the feed arrives on a busy
  machine) and cannot commit. The test SIGKILLs it there, at a delay drawn from a seeded RNG
  (0.5-2.5 s: inside the bot's 5 s busy timeout, after which the poll would fail by itself);
* right after the commit (SQLite): the test reads the database until the 20 mentions are
  there and SIGKILLs at once (its outbox is typically still posting their cards);
* inside the store transaction (PostgreSQL, when TEST_DATABASE_URL is set): the test holds
  `LOCK TABLE outbox_message IN EXCLUSIVE MODE`, waits until `pg_stat_activity` shows the bot's
  connection blocked writing its cards (`COPY outbox_message`; the mentions are already in
  that transaction), and SIGKILLs it exactly there.

After each crash the bot is started again on the same database.
"""

from __future__ import annotations

import errno
import os
import random
import re
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.kit.db import SQLITE_BUSY_TIMEOUT_MS
from tests.support.bot_process import Bot, wait_until
from tests.support.offline_rules import FEED, rules_reading

SEED = 20241105  # the kill delay is drawn from this; the assertion messages print it
SQLITE_BUSY_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000  # how long the blocked poll waits
ENTRIES = 20  # entries in tests/data/feeds/google_alerts_atom.xml


# --- running the bot ------------------------------------------------------------------------

def republished(xml: str, days: int) -> str:
    """The same entries (ids, links) with new dates: past the cursor, so only dedupe stops them."""
    def later(m: re.Match[str]) -> str:
        when = datetime.fromisoformat(m.group(2).replace("Z", "+00:00")) + timedelta(days=days)
        return f"<{m.group(1)}>{when:%Y-%m-%dT%H:%M:%SZ}</{m.group(1)}>"
    return re.sub(r"<(published|updated)>([^<]+)</\1>", later, xml)


def open_pipe_writer(pipe: Path, bot: Bot) -> int:
    """Opening a pipe for writing without blocking fails (ENXIO) until a reader has it open:
    success means the bot's poll is inside its fetch, waiting for the feed."""
    def attempt() -> int | None:
        try:
            return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            return None
    fd = wait_until(attempt, bot, "the first poll to open the feed")
    os.set_blocking(fd, True)
    return fd


# --- SQLite ---------------------------------------------------------------------------------

def sqlite_state(db: Path) -> tuple[int, int, int, str | None, str | None]:
    """(mentions, distinct external ids, card outbox rows, cursor, last success)."""
    with sqlite3.connect(db, timeout=10) as conn:
        mentions, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT network || ' ' || external_id) FROM mention"
        ).fetchone()
        cards = conn.execute("SELECT count(DISTINCT mention_id) FROM outbox_message "
                             "WHERE kind = 'card'").fetchone()[0]
        cards_total = conn.execute("SELECT count(*) FROM outbox_message WHERE kind = 'card'"
                                   ).fetchone()[0]
        assert cards == cards_total, "a mention has two cards"
        row = conn.execute("SELECT cursor, last_success_at FROM source WHERE id = 'alerts'"
                           ).fetchone() or (None, None)
    return mentions, distinct, cards, row[0], row[1]


def mention_count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute("SELECT count(*) FROM mention").fetchone()[0]
    except sqlite3.OperationalError:  # not migrated yet
        return 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_kill_9_before_and_after_commit_then_restart_stores_each_mention_once(
        tmp_path, fake_slack):
    db = tmp_path / "bot.db"
    feed = tmp_path / "alerts.xml"
    os.mkfifo(feed)
    rules = rules_reading(tmp_path, feed)

    def start(name: str) -> Bot:
        return Bot(tmp_path, name, database_url=f"sqlite:///{db}", rules=rules,
                   slack_url=fake_slack.api_url)

    body = FEED.read_bytes()
    delay = random.Random(SEED).uniform(0.5, 2.5)
    assert delay < SQLITE_BUSY_SECONDS - 1  # killed while still waiting, not after giving up
    bots: list[Bot] = []
    try:
        # 1. kill -9 between fetch and commit.
        bots.append(bot := start("crash-before-commit"))
        fd = open_pipe_writer(feed, bot)
        lock = sqlite3.connect(db, timeout=10, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # the bot's poll can read, not write
            try:
                os.write(fd, body)
            finally:
                os.close(fd)  # end of file: the fetch returns and the store begins
            time.sleep(delay)
            assert bot.alive() and "poll failed" not in bot.log_text(), (
                f"the blocked poll gave up before the kill (seed {SEED}, delay {delay:.2f}s)")
            bot.kill9()
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        mentions, _, cards, cursor, success = sqlite_state(db)
        assert (mentions, cards, cursor, success) == (0, 0, None, None), (
            f"something committed before the kill (seed {SEED}, delay {delay:.2f}s)")

        # 2. Restart on the same database (the feed is a plain file from now on): the poll
        # repeats and stores everything once. kill -9 as soon as it has committed.
        feed.unlink()
        feed.write_bytes(body)
        os.utime(feed, (1_700_000_000, 1_700_000_000))
        bots.append(bot := start("crash-after-commit"))
        wait_until(lambda: mention_count(db) >= ENTRIES, bot, "the first poll's commit")
        bot.kill9()
        mentions, distinct, cards, cursor, success = sqlite_state(db)
        assert (mentions, distinct, cards) == (ENTRIES, ENTRIES, ENTRIES)
        assert cursor and success

        # 3. Restart again. The feed now re-publishes the same 20 entries with later dates,
        # so the cursor lets them through and only the dedupe can stop them: it does.
        feed.write_text(republished(body.decode(), days=1))
        os.utime(feed, (1_700_000_100, 1_700_000_100))  # a new Last-Modified: no 304
        bots.append(bot := start("restart"))
        wait_until(lambda: f'socialbot_mentions_duplicate_total{{source="alerts"}} {ENTRIES}.0'
                   in bot.metrics(), bot, "the restart's poll")
        assert 'socialbot_mentions_ingested_total{source="alerts"} 0.0' in bot.metrics()
        after = sqlite_state(db)
        assert after[:3] == (ENTRIES, ENTRIES, ENTRIES)
        assert after[3] > cursor and after[4] > success  # the poll committed, nothing new
        # (A graceful SIGTERM is test_run_process's business; this bot is just killed.)
    finally:
        for b in bots:
            b.cleanup()


# --- PostgreSQL: the exact point inside the store transaction -------------------------------

@pytest.mark.postgres
def test_kill_9_inside_the_store_transaction_on_postgresql(tmp_path, fake_slack,
                                                           postgres_database):
    url = postgres_database.migrated()  # migrated here, so the lock can be taken before start
    feed = tmp_path / "alerts.xml"
    feed.write_bytes(FEED.read_bytes())
    rules = rules_reading(tmp_path, feed)
    observer = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def blocked_insert() -> int | None:
        with observer.connect() as conn:
            return conn.scalar(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND (query LIKE 'COPY outbox_message%' "
                "OR query LIKE 'INSERT INTO outbox_message%')"))

    def state() -> tuple[int, int, int, str | None]:
        with observer.connect() as conn:
            mentions, distinct = conn.execute(text(
                "SELECT count(*), count(DISTINCT (network, external_id)) FROM mention")).one()
            cards = conn.scalar(text("SELECT count(DISTINCT mention_id) FROM outbox_message "
                                     "WHERE kind = 'card'"))
            cursor = conn.scalar(text("SELECT cursor FROM source WHERE id = 'alerts'"))
        return mentions, distinct, cards, cursor

    bots: list[Bot] = []
    locker = create_engine(url, poolclass=NullPool).connect()
    try:
        locker.execute(text("LOCK TABLE outbox_message IN EXCLUSIVE MODE"))  # reads still pass
        bots.append(bot := Bot(tmp_path, "pg-crash", database_url=url, rules=rules,
                               slack_url=fake_slack.api_url))
        pid = wait_until(blocked_insert, bot, "the poll to block on its outbox insert")
        with observer.connect() as conn:  # the same transaction already inserted the mentions
            assert conn.scalar(text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = :pid AND c.relname = 'mention' AND l.mode = 'RowExclusiveLock' "
                "AND l.granted"), {"pid": pid}) == 1
        bot.kill9()
        locker.rollback()  # the orphaned backend finishes its insert, finds no client, aborts

        def gone() -> bool:
            with observer.connect() as conn:
                return not conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                            "WHERE pid = :pid"), {"pid": pid})
        deadline = time.monotonic() + 20
        while not gone():
            assert time.monotonic() < deadline, "the killed bot's backend never went away"
            time.sleep(0.05)
        assert state() == (0, 0, 0, None)

        bots.append(bot := Bot(tmp_path, "pg-restart", database_url=url, rules=rules,
                               slack_url=fake_slack.api_url))
        wait_until(lambda: 'socialbot_mentions_ingested_total{source="alerts"} 20.0'
                   in bot.metrics(), bot, "the restart's poll")
        mentions, distinct, cards, cursor = state()
        assert (mentions, distinct, cards) == (ENTRIES, ENTRIES, ENTRIES) and cursor
    finally:
        for b in bots:
            b.cleanup()
        locker.close()
        observer.dispose()
