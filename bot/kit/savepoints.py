"""SAVEPOINTs that nest on SQLite too.

Python's sqlite3 module (in its default, legacy transaction mode) opens a transaction only
before an INSERT, UPDATE or DELETE. A SAVEPOINT issued before any of those starts a
transaction of its own, and its RELEASE then commits it: the work inside would be committed
even if the session later rolled back. `savepoint` makes sure the transaction is open first,
so a SAVEPOINT always nests inside the session's transaction, as it does on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, SessionTransaction


@contextmanager
def savepoint(session: Session) -> Iterator[SessionTransaction]:
    """`session.begin_nested()`, on SQLite after a BEGIN when no transaction is open yet.
    An exception inside rolls back to the savepoint and propagates."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not getattr(raw, "in_transaction", True):
            connection.exec_driver_sql("BEGIN")
    with session.begin_nested() as nested:
        yield nested
