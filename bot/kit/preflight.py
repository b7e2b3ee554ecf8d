"""Before `run` starts and in `check`: can the bot use `DATABASE_URL`? One line naming the
setting and the fix, or None — never a traceback.

Each probe opens its own short-lived engine with a short connect timeout, reads `SELECT 1`
and, for SQLite, checks that the file (or its folder, for a new database) is writable: a
read-only SQLite file answers reads and fails every write."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from bot.domain.redaction import redact as redact_text
from bot.kit.db import make_engine, normalize_url

CONNECT_TIMEOUT_SECONDS = 5
SUPPORTED = "sqlite:///path/to/socialbot.db or postgresql+psycopg://user:password@host/db"


def first_line(exc: object) -> str:
    """The first line of what a driver or client said (`exc.orig` for SQLAlchemy's)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def redact(url: str) -> str:
    """`url` without its credentials (`bot.domain.redaction`), for messages; an unparseable
    one as it was given, redacted all the same."""
    try:
        return redact_text(normalize_url(url).render_as_string(hide_password=False))
    except ArgumentError:
        return redact_text(repr(url))


def parse(url: str) -> URL | str:
    """The URL, or the one line saying why it cannot be used."""
    try:
        u = normalize_url(url)
    except ArgumentError:
        return f"DATABASE_URL: cannot parse {url!r}; use {SUPPORTED}"
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        return (f"DATABASE_URL: {u.get_backend_name()} is not supported; use {SUPPORTED}")
    return u


def sqlite_path(u: URL) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database)."""
    if not u.database or u.database == ":memory:" or u.database.startswith("file:"):
        return None
    return Path(u.database).expanduser().resolve()


def database_problem(url: str, *, must_exist: bool = False) -> str | None:
    """Why the bot cannot use `url`, in one line, or None.

    `must_exist`: for commands that read what `run` stored (`report`, `tune`, `check --live`):
    a SQLite file that is not there is reported instead of being created empty."""
    u = parse(url)
    if isinstance(u, str):
        return u
    if u.get_backend_name() == "sqlite":
        problem = _sqlite_problem(u, must_exist=must_exist)
        path = sqlite_path(u)
        if problem or (path is not None and not path.exists()):
            return problem  # connecting would create the file: `migrate` and `run` do that
    connect_args = ({"connect_timeout": CONNECT_TIMEOUT_SECONDS}
                    if u.get_backend_name() == "postgresql" else {})
    try:
        engine = make_engine(u, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        return f"DATABASE_URL: cannot use {redact(url)}: {exc}; use {SUPPORTED}"
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return (f"DATABASE_URL: cannot reach {redact(url)}: {first_line(exc)} "
                "(is the server running, and are host, port, user and password right?)")
    finally:
        engine.dispose()
    return None


def _sqlite_problem(u: URL, *, must_exist: bool) -> str | None:
    path = sqlite_path(u)
    if path is None:
        return None
    if not path.exists():
        if must_exist:
            return (f"DATABASE_URL: no database at {path}; point DATABASE_URL at the bot's "
                    "database, or run `socialbot migrate` to create it")
        if not path.parent.is_dir():
            return f"DATABASE_URL: the folder {path.parent} does not exist; create it first"
        if not os.access(path.parent, os.W_OK):
            return (f"DATABASE_URL: cannot create {path}: its folder is read-only "
                    "(a volume mounted without write access?)")
        return None
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        return (f"DATABASE_URL: {path} is read-only (the file or its folder, where SQLite "
                "keeps its journal); make both writable by the bot's user")
    return None
