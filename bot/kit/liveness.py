"""What `/healthz` asks before it says 200: the ways a running process can be useless.

Each check returns None when fine, else the reason `/healthz` shows with its 503:
- the database answers and accepts writes (a read-only SQLite file answers every read and
  fails every write: the probe writes, then rolls back);
- the scheduler runs, and on the leader its jobs keep running (`Heartbeat`);
- Slack's Socket Mode connection is up (HTTP mode has none to lose);
- the outbox has not been stuck for `OUTBOX_STUCK` (its oldest due row keeps waiting), and
  nothing is parked behind an error only a person can fix (the bot not in a channel, a
  revoked token): cards are not reaching the desk, whoever watches health must know.
Rows that failed for good lately are not a 503 (no restart heals them) but the 200 body says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from bot.domain.outbox import OutboxTrouble
from bot.kit.preflight import first_line

OUTBOX_STUCK = timedelta(minutes=10)
JOBS_LATE = timedelta(minutes=3)  # the leader's most frequent job runs every 30 s

Check = Callable[[], str | None]


def first_problem(checks: Iterable[Check]) -> str | None:
    """The reason of the first check that fails (later checks are not run), or None."""
    for check in checks:
        problem = check()
        if problem:
            return problem
    return None


def database_problem(engine: Engine) -> str | None:
    """None when the database answers and takes a write. The write changes nothing (the one
    row Alembic keeps, set to itself) and is rolled back."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.rollback()  # the SELECT's transaction; the write gets its own
            write = conn.begin()
            try:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            finally:
                write.rollback()
    except Exception as exc:  # health is a yes/no answer; the reason goes in the body
        return f"database refuses writes or is unavailable: {type(exc).__name__}: " \
               f"{first_line(exc)[:200]}"
    return None


class Heartbeat:
    """When a repeating job last ran. `late(now)` says so once it has not run for `allowed`
    (counted from `start` until its first run)."""

    def __init__(self, name: str, allowed: timedelta = JOBS_LATE) -> None:
        self.name, self.allowed = name, allowed
        self._lock = threading.Lock()
        self._last: datetime | None = None
        self._since: datetime | None = None

    def start(self, now: datetime) -> None:
        with self._lock:
            self._since, self._last = now, None

    def beat(self, now: datetime) -> None:
        with self._lock:
            self._last = now

    def late(self, now: datetime) -> str | None:
        with self._lock:
            last = self._last or self._since
        if last is None or now - last <= self.allowed:
            return None
        return (f"leader jobs have not run for {int((now - last).total_seconds())}s "
                f"({self.name}: last run {'never' if self._last is None else last.isoformat()})")


def outbox_problem(oldest_due_seconds: float) -> str | None:
    if oldest_due_seconds > OUTBOX_STUCK.total_seconds():
        return (f"outbox stuck: a message has waited {int(oldest_due_seconds // 60)} min "
                "(Slack refusing or unreachable? see /social status)")
    return None


def _age(now: datetime, since: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def parked_problem(trouble: OutboxTrouble, now: datetime) -> str | None:
    """503 while rows are parked: which scope, how many, since when, and the fix."""
    if not trouble.parked:
        return None
    first = trouble.parked[0]
    more = f" (and {len(trouble.parked) - 1} more scope(s))" if len(trouble.parked) > 1 else ""
    where = "all Slack posts" if first.scope == "all" else first.scope
    return (f"outbox parked: {first.rows} message(s) for {where} held for "
            f"{_age(now, first.since)}: {first.code}: {first.fix}{more}")


def failed_note(trouble: OutboxTrouble, now: datetime) -> str:
    """What the 200 body adds about rows that failed for good lately ('' when none)."""
    if not trouble.failed or trouble.failed_since is None:
        return ""
    return (f"; outbox: {trouble.failed} message(s) failed in the last 24 h, oldest queued "
            f"{_age(now, trouble.failed_since)} ago ({(trouble.failed_error or '')[:120]})")
