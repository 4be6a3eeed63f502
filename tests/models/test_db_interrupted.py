"""A connection interrupted mid-statement (a missed deadline) never goes back to the pool."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from models import Database, make_engine

URL = os.environ.get("TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not URL.startswith("postgresql"), reason="needs TEST_DATABASE_URL pointing at PostgreSQL"
)
PID = text("SELECT pg_backend_pid()")


class Interrupted(BaseException):
    """What gevent's Timeout is to the code it interrupts: not an Exception."""


def test_an_interrupted_statement_connection_is_closed_not_pooled():
    engine = make_engine(URL, pool_size=1, max_overflow=0, isolation_level="AUTOCOMMIT")
    database = Database(make_engine(URL), statement_engine=engine)
    try:
        with database.statement_connection() as connection:
            first = connection.fetch_one(PID, {})
        with pytest.raises(Interrupted):
            with database.statement_connection() as connection:
                assert connection.fetch_one(PID, {}) == first  # pooled and reused so far
                raise Interrupted
        with database.statement_connection() as connection:
            assert connection.fetch_one(PID, {}) != first
    finally:
        database.dispose()


@pytest.mark.parametrize("reset", ["rollback", None], ids=["session pool", "statement pool"])
def test_a_connection_returned_with_its_query_in_flight_is_discarded(reset):
    # The statement pool (autocommit) does not even roll back on return.
    engine = make_engine(URL, pool_size=1, max_overflow=0, pool_reset_on_return=reset)
    try:
        raw = engine.raw_connection()
        busy = raw.driver_connection
        first = busy.execute("SELECT pg_backend_pid()").fetchone()[0]
        busy.rollback()
        # As a deadline leaves it: the query sent, its answer not come (a frozen server
        # never sends it; a rollback on the way back to the pool would wait for it).
        busy.pgconn.send_query(b"SELECT pg_sleep(20)")
        started = time.monotonic()
        raw.close()  # back to the pool: refused, closed at once
        assert busy.closed
        assert time.monotonic() - started < 2
        with engine.connect() as conn:
            assert conn.execute(PID).scalar_one() != first
    finally:
        engine.dispose()
