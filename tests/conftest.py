"""Shared fixtures.

Databases: every fixture below runs once per backend, `sqlite` (a file in tmp_path) and
`postgres` (only when TEST_DATABASE_URL points at a server; otherwise skipped, with the reason).
The schema always comes from the real Alembic migrations, never from `create_all`.

    db_url        an empty database (no tables), for tests that drive migrations themselves
    migrated_url  a database at the head revision with no rows
    engine        `bot.kit.db.make_engine(migrated_url)`
    session       a Session on `engine`, rolled back and closed afterwards
    make_author, make_mention   factories that add a valid row to `session` and flush

PostgreSQL: the test session creates its own throwaway database (`socialbot_t_<random>`) on
the server TEST_DATABASE_URL names, and drops it at the end, so parallel runs never collide.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, Connection, Engine, create_engine, inspect, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bot.kit.db import make_engine, make_session_factory, normalize_url, upgrade_to_head
from bot.kit.models import Author, Mention

# The shared helpers in tests/support assert as test modules do: pytest shows the values.
pytest.register_assert_rewrite("tests.support")

PG_ENV = "TEST_DATABASE_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class PostgresDatabase:
    """The session's throwaway PostgreSQL database, reset between tests.

    Resetting by TRUNCATE is much faster than migrating again, so the schema is migrated
    once and only rebuilt after a test that asked for an empty database (`db_url`).
    """

    def __init__(self, url: URL) -> None:
        self.url = url
        self.at_head = False

    def empty(self) -> str:
        with self._admin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        self.at_head = False
        return self.rendered

    def migrated(self) -> str:
        if not self.at_head:
            self.empty()
            upgrade_to_head(self.url)
            self.at_head = True
            return self.rendered
        with self._admin() as conn:
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            if tables:
                names = ", ".join(conn.dialect.identifier_preparer.quote(t) for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return self.rendered

    @property
    def rendered(self) -> str:
        return self.url.render_as_string(hide_password=False)

    @contextmanager
    def _admin(self) -> Iterator[Connection]:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                # A connection leaked by a test would make DROP/TRUNCATE wait forever.
                conn.execute(text("SET lock_timeout = '10s'"))
                yield conn
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    server = os.environ.get(PG_ENV)
    if not server:
        pytest.skip(f"{PG_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test);"
                    " PostgreSQL tests skipped")
    server_url = normalize_url(server)
    name = f"socialbot_t_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PostgresDatabase(server_url.set(database=name))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests get a copy of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "head.db"
    upgrade_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return request.getfixturevalue("postgres_database").empty()
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def migrated_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return request.getfixturevalue("postgres_database").migrated()
    path = tmp_path / "migrated.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as s:
        yield s
        s.rollback()


# --- model factories ----------------------------------------------------------------------

_seq = itertools.count(1)


@pytest.fixture
def make_author(session: Session) -> Callable[..., Author]:
    """`make_author(**overrides)`: an Author added to `session` and flushed."""

    def make(**overrides: Any) -> Author:
        n = next(_seq)
        values: dict[str, Any] = {"network": "x", "handle": f"user{n}", "name": f"User {n}",
                                  "followers": 10, "author_type": "customer"}
        author = Author(**(values | overrides))
        session.add(author)
        session.flush()
        return author

    return make


@pytest.fixture
def make_mention(session: Session, make_author: Callable[..., Author]) -> Callable[..., Mention]:
    """`make_mention(**overrides)`: a scored, routed Mention (new author unless `author=`),
    added to `session` and flushed."""

    def make(**overrides: Any) -> Mention:
        n = next(_seq)
        values: dict[str, Any] = {
            "network": "x", "external_id": f"{1_000_000 + n}", "text": f"mention {n}",
            "url": f"https://x.com/i/web/status/{1_000_000 + n}", "lang": "en",
            "created_at": datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "compound": -0.4,
            "sentiment": "negative", "author_type": "customer", "score": 50,
            "score_parts": {"sentiment": 20, "reach": 30}, "priority": "P3",
            "team": "support", "risk": [], "matched_rules": []}
        values |= overrides
        if "author" not in values and "author_id" not in values:
            values["author"] = make_author(network=values["network"])
        mention = Mention(**values)
        session.add(mention)
        session.flush()
        return mention

    return make
