"""Leadership: of all the `socialbot run` processes sharing one database, exactly one runs the
pollers and timers (every APScheduler job); all of them serve Slack and send the outbox.

PostgreSQL: the leader holds a session-level advisory lock (`pg_try_advisory_lock`) on a
connection of its own, kept outside any transaction. The lock lives exactly as long as that
connection, so when the leader dies (kill -9, crash, lost network) PostgreSQL drops it and the
next replica to try takes it. Every `interval` each process checks once: a follower tries the
lock; the leader asks the server whether it still holds it (a query on that connection, so a
dead connection is found out too) and stops leading if the answer is not a clear yes.

Takeover time ≈ the time PostgreSQL needs to notice the dead client (immediate for a killed
process: its socket is closed by the kernel) + at most one `interval` (2 s by default).
A leader cut off from the server keeps leading until its next heartbeat fails, at most one
`interval` plus the TCP timeouts below, so for that long two replicas may both run a job:
the jobs must stay safe to repeat (polls are deduplicated by `(network, external_id)`,
outbox rows are claimed with SKIP LOCKED).

Not behind PgBouncer in transaction mode: session-level locks need a session of their own.

SQLite has no such lock and no second process may share the file: `SingleProcess` always
leads, and says so once at start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from bot.kit.db import normalize_url

log = logging.getLogger(__name__)

# The first 8 bytes of sha256(b"socialbot leader") as a signed bigint: one fixed key per
# database (advisory locks are per database, so two bots on two databases don't meet).
LOCK_KEY = -4_504_293_757_804_865_523
HEARTBEAT_SECONDS = 2.0
# libpq settings of the lock's connection: a dead server or network is noticed in seconds,
# not after the kernel's default of ~2 hours of TCP keepalive silence.
LOCK_CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5,
                     "keepalives_interval": 2, "keepalives_count": 3,
                     "tcp_user_timeout": 10_000, "application_name": "socialbot-leader"}

OnChange = Callable[[bool], None]


def lock_oids(key: int) -> dict[str, int]:
    """How pg_locks shows a bigint advisory key: high half in `classid`, low in `objid`."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return {"hi": unsigned >> 32, "lo": unsigned & 0xFFFF_FFFF}


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


class SingleProcess:
    """SQLite: one process only, so it always leads."""

    is_leader = True

    def __init__(self, url: str | URL) -> None:
        self.url = url

    def start(self) -> None:
        log.info("database is SQLite: single process, this one runs the pollers and timers; "
                 "do not start a second `socialbot run` on it (replicas need PostgreSQL)")

    def stop(self) -> None:
        pass


class PostgresLeader:
    """One replica's claim on leadership. `check()` is one step (tests call it directly);
    `start()` runs it every `interval` in a daemon thread, after a first check made at once
    so the scheduler starting next already knows whether it leads."""

    def __init__(self, url: str | URL, *, key: int = LOCK_KEY,
                 interval: float = HEARTBEAT_SECONDS, on_change: OnChange | None = None,
                 connect_args: dict | None = None) -> None:
        self.key, self.interval, self.on_change = key, interval, on_change
        # NullPool: the lock's connection is never shared, recycled or pre-pinged behind our
        # back; closing it really closes the session (and so releases the lock).
        self.engine: Engine = create_engine(
            normalize_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT",
            connect_args=LOCK_CONNECT_ARGS if connect_args is None else connect_args)
        self._conn: Connection | None = None
        self._pid: int | None = None
        self._leading = False
        self._lock = threading.Lock()  # check() and stop() never interleave
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def backend_pid(self) -> int | None:
        """The server process of the lock's connection (None: not connected): for tests."""
        return self._pid if self._conn is not None else None

    def check(self) -> bool:
        """Heartbeat when leading, else try to take the lock. Returns whether this leads."""
        with self._lock:
            if self._stop.is_set():
                return False
            leading = self._still_held() if self._leading else self._try_acquire()
            self._set(leading)
            return leading

    def _still_held(self) -> bool:
        # Not just `SELECT 1`: asking pg_locks also proves this session still has the lock.
        try:
            held = self._connection().execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objsubid = 1 "
                "AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid)"),
                lock_oids(self.key)).scalar_one()
        except Exception as exc:
            log.warning("leader heartbeat failed (%s): stepping down", type(exc).__name__)
            self._drop_connection()
            return False
        if not held:
            log.warning("leader lock no longer held: stepping down")
        return bool(held)

    def _try_acquire(self) -> bool:
        try:
            return bool(self._connection().execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar_one())
        except Exception as exc:  # database down: nobody can lead; try again next interval
            log.debug("leader lock attempt failed: %s", type(exc).__name__)
            self._drop_connection()
            return False

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect()
            try:
                self._pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            except Exception:
                conn.invalidate()
                raise
            self._conn = conn
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never returned anywhere; the socket is closed
            except Exception:
                log.debug("closing the leader connection failed", exc_info=True)

    def _set(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        log.info("leadership %s: this replica %s the pollers and timers",
                 "taken" if leading else "lost", "runs" if leading else "no longer runs")
        if self.on_change is not None:
            try:
                self.on_change(leading)
            except Exception:  # a bad callback must not stop the heartbeat
                log.exception("leadership change callback failed")

    # --- background heartbeat ----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        if not self.check():
            log.info("another replica leads: this one serves Slack and sends the outbox, and "
                     "takes over the pollers and timers if the leader stops")
        self._thread = threading.Thread(target=self._loop, name="leader", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # keep trying: a lost leader must be replaceable
                log.exception("leader check failed")

    def stop(self) -> None:
        """Give up leadership at once (SIGTERM): the lock goes with the connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)
            self._thread = None
        with self._lock:
            if self._conn is not None and self._leading:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                except Exception:
                    log.debug("unlock failed; closing the connection releases it", exc_info=True)
            self._drop_connection()
            self._set(False)
        self.engine.dispose()


def make_leadership(url: str | URL, *, on_change: OnChange | None = None,
                    interval: float = HEARTBEAT_SECONDS) -> Leadership:
    """`PostgresLeader` on PostgreSQL, `SingleProcess` on SQLite."""
    if normalize_url(url).get_backend_name() == "sqlite":
        return SingleProcess(url)
    return PostgresLeader(url, on_change=on_change, interval=interval)


class LeaderOnlyExecutor(ThreadPoolExecutor):
    """APScheduler's default thread pool, except that on a replica that does not lead a due
    job is skipped (its next run is scheduled as usual). Installed as the scheduler's
    `default` executor, it makes every job leader-only without the job knowing; a job that
    must run on every replica names another executor (`executor="every_replica"`)."""

    def __init__(self, is_leader: Callable[[], bool], max_workers: int = 10) -> None:
        super().__init__(max_workers)
        self.is_leader = is_leader

    def submit_job(self, job, run_times) -> None:
        if not self.is_leader():
            self._logger.debug("job %s skipped: this replica does not lead", job.id)
            return
        super().submit_job(job, run_times)


# Another fixed key (sha256(b"socialbot migrate")[:8]): replicas starting together on a fresh
# database must not run the same migrations at once (two CREATE TABLEs, one fails).
MIGRATION_LOCK_KEY = 4_195_079_071_681_309_845


@contextmanager
def migration_lock(url: str | URL) -> Iterator[None]:
    """Hold a blocking advisory lock around `alembic upgrade` on PostgreSQL; the second
    replica waits, then finds the schema at head. Nothing to do on SQLite."""
    u = normalize_url(url)
    if u.get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(u, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                             {"key": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()
