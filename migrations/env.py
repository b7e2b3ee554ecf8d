"""Alembic environment for socialbot.

The database is `DATABASE_URL` from `bot.config.Settings` (environment or .env), unless the
caller set `sqlalchemy.url` on the config (`bot.kit.db.alembic_config(url)` does, as do tests).
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from bot.config import Settings
from bot.kit.db import UTCDateTime, normalize_url
from bot.kit.models import Base

config = context.config

# Only the `alembic` command line configures logging from alembic.ini. A program running
# migrations (`socialbot migrate`, tests) keeps its own; `disable_existing_loggers=False`
# so that even the command line doesn't silence loggers created by importing `bot`.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().DATABASE_URL


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Revisions must not import the app (it changes; they don't), so autogenerate writes our
    # UTCDateTime as the plain type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    url = normalize_url(database_url())
    context.configure(
        target_metadata=target_metadata,
        # SQLite can't ALTER most things: batch mode copies the table instead.
        render_as_batch=url.get_backend_name() == "sqlite",
        compare_type=True,
        compare_server_default=True,
        render_item=render_item,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    _configure(url=normalize_url(database_url()), literal_binds=True,
               dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    # Migrations run with SQLite's foreign keys off (the default for a plain engine):
    # batch mode drops and re-creates tables, which with them on would cascade deletes.
    # So check afterwards that nothing was left dangling.
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"migration left rows with broken foreign keys: {problems[:10]}")


def run_migrations_online() -> None:
    url = normalize_url(database_url())
    # A plain engine, not bot.kit.db.make_engine: no app pragmas, and NullPool so nothing
    # outlives the migration.
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
            if connection.dialect.name == "sqlite":
                _check_sqlite_foreign_keys(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
