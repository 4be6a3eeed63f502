"""Bulk reads and writes of an import, in batches each database does well.

PostgreSQL: lookups bind a whole batch of keys as one array (``= ANY(%s)``) and new rows
go in with ``COPY``, so a batch costs one short statement whatever its size. SQLite:
``IN`` lists and executemany, in batches under its limit on bound parameters. Batches
stay small enough to finish well inside the statement timeout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, Table, any_, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from .checks import CHUNK

# Rows per lookup or COPY statement on PostgreSQL: each takes a fraction of a second, far
# inside the statement timeout (DB_STATEMENT_TIMEOUT_MS) even on a busy server.
PG_BATCH = 2000


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def batch_size(session: Session) -> int:
    return PG_BATCH if is_postgresql(session) else CHUNK


def one_of(
    session: Session, column: InstrumentedAttribute[Any], values: Sequence[str]
) -> ColumnElement[bool]:
    """``column`` is one of ``values``: one array parameter on PostgreSQL, ``IN`` elsewhere."""
    if is_postgresql(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    return column.in_(values)


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert one batch of ``rows`` (values in the order of ``columns``) in the session's
    transaction: COPY on PostgreSQL, executemany elsewhere."""
    if not is_postgresql(session):
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    from psycopg import sql

    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
