"""Bulk inserts for ingest: COPY on PostgreSQL, one Core INSERT elsewhere.

On PostgreSQL a multi-row `INSERT … VALUES (…), (…) RETURNING` of 100 mentions is one long
statement that psycopg re-parses on every call (its statement cache skips long queries), and an
executemany is one prepared round trip a row: most of the ingest's time. COPY streams the rows
instead; the ids are drawn from the table's sequence first (one `nextval` query), so the caller
still learns each row's id, in row order. Values go through the columns' SQLAlchemy bind
processors, so a row means the same on both paths; the rows are written inside the caller's
transaction (the session's own connection), so a crash before its COMMIT keeps none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnDefault, Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :n)")


def _copies(session: Session) -> bool:
    dialect = session.get_bind().dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


def _defaults(table: Table, given: Sequence[str]) -> dict[str, Any] | None:
    """Values of the Python-side defaults a Core INSERT would fill in for the columns not
    `given`; None when one needs the statement's context (then COPY is not used)."""
    out: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None or column.primary_key:
            continue
        if not isinstance(default, ColumnDefault):  # a Sequence: the database draws it
            return None
        if default.is_scalar:
            out[column.name] = default.arg
        elif default.is_callable:
            try:
                out[column.name] = default.arg(None)
            except Exception:
                return None
        else:  # a SQL expression
            return None
    return out


def _copy(session: Session, table: Table, rows: list[dict[str, Any]],
          ids: list[int] | None) -> bool:
    """COPY `rows` (with `ids` as their primary keys when given); False when it cannot."""
    names = list(rows[0])
    defaults = _defaults(table, names)
    if defaults is None:
        return False
    names += list(defaults)
    dialect = session.get_bind().dialect
    process: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    columns = ", ".join(dialect.identifier_preparer.quote(n) for n in
                        (["id"] if ids is not None else []) + names)
    prefix: list[Any] = []
    sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN"
    connection = session.connection()
    raw = connection.connection.driver_connection
    if raw is None:  # no driver connection behind the pool's (invalidated): the INSERT path
        return False
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for i, row in enumerate(rows):
                if ids is not None:
                    prefix = [ids[i]]
                values = [row[n] if n in row else defaults[n] for n in names]
                copy.write_row(prefix + [v if p is None or v is None else p(v)
                                         for v, p in zip(values, process, strict=True)])
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy reports a driver's error (callers catch SQLAlchemyError: a failed
        # store is recorded on its source), and a dropped connection is not pooled again.
        lost = dialect.is_disconnect(exc, raw, None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=dialect) from exc
    return True


def insert_ids(session: Session, table: Table, rows: list[dict[str, Any]],
               key: Sequence[str]) -> list[int]:
    """Insert `rows` (all with the same keys) into `table`; their ids, in row order.

    `key` names columns that identify a row among `rows` (a unique key): the portable path
    maps the RETURNING rows back by it, because SQLAlchemy can only promise RETURNING in
    parameter order on SQLite by inserting one row per statement."""
    if not rows:
        return []
    if _copies(session):
        ids = sorted(session.scalars(_NEXT_IDS, {"table": table.name, "n": len(rows)}))
        if _copy(session, table, rows, ids):
            return ids
    found = {tuple(r[:-1]): r[-1] for r in session.execute(
        insert(table).returning(*(table.c[k] for k in key), table.c.id), rows)}
    return [found[tuple(row[k] for k in key)] for row in rows]


def insert_all(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (all with the same keys) into `table`, ids from its default."""
    if not rows:
        return
    if _copies(session) and _copy(session, table, rows, None):
        return
    session.execute(insert(table), rows)

