"""A database that refuses writes, then accepts them again (issue 18, item 4): the bot must use
it again without a restart, and `/healthz` must say 503 meanwhile.

What keeps a connection read-only after its cause is gone is real on both backends and is
reproduced as it happens:
- SQLite opens a file it may not write read-only, and that connection stays read-only once the
  file is writable again. The tests run as root, who may write any file, so the file's state
  is given to the connection where SQLite reads it: the engine's `creator` opens the file
  read-only (`mode=ro`) while the "disk" is read-only, read-write after;
- PostgreSQL: connections made while the database is read-only
  (`default_transaction_read_only`, as on a standby) stay read-only after it is writable again.

Before, the pool kept those connections: every write failed until a restart (and /healthz said
ok). Now the first write error empties the pool; the next unit of work connects afresh.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from bot.kit import liveness
from bot.kit.db import make_engine, make_session_factory
from bot.listening.polling import poll_source
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fault_scenarios import NOW, RULES, X_SEARCH, check_ingest, x_network
from tests.support.fault_world import FakeXSource


class Disk:
    """Whether the SQLite file may be written: read-only connections while not."""

    def __init__(self, path: str) -> None:
        self.path, self.writable = path, False

    def connect(self) -> sqlite3.Connection:
        mode = "rw" if self.writable else "ro"
        return sqlite3.connect(f"file:{self.path}?mode={mode}", uri=True,
                               check_same_thread=False)


def set_read_only(url: str, read_only: bool) -> None:
    """PostgreSQL: new connections to the test database start read-only (or not)."""
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    try:
        with admin.connect() as conn:
            conn.execute(text("SET default_transaction_read_only = off"))
            value = "on" if read_only else "DEFAULT"
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only '
                              f"= {value}"))
    finally:
        admin.dispose()


def test_writes_resume_without_a_restart_once_the_database_accepts_them(backend, fresh_db):
    url = fresh_db()
    disk = None
    if backend == "postgres":
        set_read_only(url, True)
        engine = make_engine(url)
    else:
        disk = Disk(make_url(url).database or "")
        before = make_engine(url)  # a file the bot used before: in WAL mode already
        with before.connect():
            pass
        before.dispose()
        engine = make_engine(url, creator=disk.connect)
    try:
        factory = make_session_factory(engine)
        x, clock = x_network(), Clock(NOW)
        # The poll can't even record itself: it raises (Runtime.poll logs it) or backs off.
        try:
            failed = poll_source(factory, FakeXSource(X_SEARCH, x), RULES, clock=clock).status
        except DBAPIError:  # OperationalError on SQLite, InternalError on PostgreSQL
            failed = "raised"
        assert failed in ("raised", "unavailable")
        problem = liveness.database_problem(engine)
        assert problem is not None and "refuses writes" in problem  # /healthz: 503
        fault_figures.tried("faults injected")

        if disk is not None:
            disk.writable = True
        else:
            set_read_only(url, False)
        assert liveness.database_problem(engine) is None  # /healthz: ok, same process
        clock.advance(timedelta(hours=2).total_seconds())  # past the failed poll's backoff
        ok = poll_source(factory, FakeXSource(X_SEARCH, x), RULES, clock=clock)
        assert (ok.status, ok.new) == ("ok", 3), ok
    finally:
        engine.dispose()
        if disk is None:
            set_read_only(url, False)
    check_ingest(url, x)
