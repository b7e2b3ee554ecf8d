"""Engine, sessions and migrations. SQLite by default, PostgreSQL in production.

The schema is owned by Alembic (`migrations/`): `upgrade_to_head(url)` is how a database gets
its tables, in tests as in production. `Base.metadata.create_all` is never used, so the
migrations are what every test runs against.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    URL,
    CursorResult,
    DateTime,
    Engine,
    Insert,
    Result,
    Table,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import Dialect, ExceptionContext
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# How long a SQLite writer waits for another writer's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5_000


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on every backend.

    PostgreSQL stores `timestamptz`; SQLite has no time zones and hands back naive values.
    Writing converts to UTC (so SQLite's text timestamps sort and compare correctly) and
    refuses naive datetimes, whose meaning would depend on the machine that wrote them.
    Reading attaches UTC to whatever SQLite returns and normalises PostgreSQL's session zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: "
                             "use a timezone-aware datetime (e.g. datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalize_url(url: str | URL) -> URL:
    """`postgres://…` and `postgresql://…` mean psycopg 3 here: it is the driver we ship
    (SQLAlchemy would otherwise pick psycopg2, which is not installed)."""
    u = make_url(url) if isinstance(url, str) else url
    if u.drivername in ("postgres", "postgresql"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers (reports, Slack handlers) never block the writer (ingest, outbox).
        cursor.execute("PRAGMA journal_mode=WAL")
        # SQLite ignores FOREIGN KEY clauses (and so ON DELETE) unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


# Errors after which a pooled connection is no good even once the cause is gone, so the pool
# is emptied and the next unit of work connects afresh. SQLite opens a file it may not write
# read-only, and the connection stays read-only after the file becomes writable; PostgreSQL's
# `read_only_sql_transaction` (25006) comes from a connection made to a standby or while the
# database was set read-only, which stays so after failover or the fix.
SQLITE_REOPEN = ("attempt to write a readonly database", "unable to open database file",
                 "disk i/o error")
PG_RECONNECT_SQLSTATES = frozenset({"25006"})


def _recycle_after(ctx: ExceptionContext) -> None:
    """`handle_error`: mark such an error a disconnect, so SQLAlchemy invalidates the pool
    (the unit of work fails as before; the next one gets a new connection)."""
    if ctx.is_disconnect:
        return
    original = ctx.original_exception
    if ctx.dialect.name == "sqlite":
        recycle = any(m in str(original).lower() for m in SQLITE_REOPEN)
    else:
        recycle = getattr(original, "sqlstate", None) in PG_RECONNECT_SQLSTATES
    if recycle:
        ctx.is_disconnect = True


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for the app. Extra keyword arguments go to `create_engine`.

    Its connections are recycled after errors that outlive their cause (`_recycle_after`), so
    a database that becomes writable or reachable again is used without a restart."""
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        # The scheduler's threads and Bolt's threads share the pool; SQLite's own check
        # would refuse a connection used from a thread other than the one that opened it.
        connect_args = {"check_same_thread": False, **kwargs.pop("connect_args", {})}
        engine = create_engine(u, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
    else:
        # Connections idle for hours (nights, weekends) get cut by servers and proxies.
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(u, **kwargs)
    event.listen(engine, "handle_error", _recycle_after)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after commit (handlers build the card
    # from the mention they just changed) without a reload per attribute.
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises, always close."""
    with factory() as session, session.begin():
        yield session


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched. `Session.execute` is typed as returning a plain
    `Result` whatever the statement; for DML it is a `CursorResult`, which has the count."""
    return cast("CursorResult[*tuple[Any, ...]]", result).rowcount


def insert_or_skip(session: Session, table: Table, *, key: str) -> Insert:
    """`INSERT … ON CONFLICT (key) DO NOTHING` on the session's backend: PostgreSQL and SQLite
    spell the same clause, each with its own `Insert` class."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])


# --- migrations -------------------------------------------------------------------------

def migrations_dir() -> Path:
    """The Alembic scripts: the repository's `migrations/`, installed as `bot.kit.migrations`
    (setup.py), so found the same way from a wheel, an editable install or any directory."""
    return Path(str(resources.files("bot.kit.migrations")))


def alembic_config(url: str | URL) -> Config:
    """An Alembic config for `url`, independent of the current directory.

    Reads the repo's `alembic.ini` when there is one (file naming, hooks) but never its
    logging sections: a program running migrations owns its own logging.
    """
    ini = migrations_dir().parent / "alembic.ini"  # a checkout's; a wheel runs without one
    cfg = Config(str(ini)) if ini.is_file() else Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolates `%`, which URL-encoded passwords contain.
    rendered = normalize_url(url).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade_to_head(url: str | URL) -> None:
    command.upgrade(alembic_config(url), "head")


def downgrade_to_base(url: str | URL) -> None:
    command.downgrade(alembic_config(url), "base")
