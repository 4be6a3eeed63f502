"""Under gevent, psycopg waits for PostgreSQL on gevent's hub: other greenlets run
meanwhile, and a gevent.Timeout still interrupts a statement the server is slow on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import sys
    import time
    from types import SimpleNamespace

    import gevent
    from psycopg import waiting
    from sqlalchemy import text

    from models.db import Database

    database = Database.from_config(SimpleNamespace(DATABASE_URL=sys.argv[1]))
    assert waiting.wait.__name__ == "wait_gevent", waiting.wait

    def sleep_in_database(seconds):
        with database.statement_connection() as connection:
            return connection.fetch_one(text("SELECT pg_sleep(:s), 7"), {"s": seconds})[1]

    # Two slow statements on the two pooled connections run at the same time.
    started = time.monotonic()
    jobs = [gevent.spawn(sleep_in_database, 0.5) for _ in range(2)]
    gevent.joinall(jobs, raise_error=True)
    assert [job.value for job in jobs] == [7, 7]
    together = time.monotonic() - started

    started = time.monotonic()
    try:
        with gevent.Timeout(0.2):
            sleep_in_database(5)
    except gevent.Timeout:
        interrupted = time.monotonic() - started
    else:
        raise AssertionError("the statement was not interrupted")
    # The pool still serves statements after the interrupted connection was discarded.
    assert sleep_in_database(0) == 7
    print(f"{together:.2f} {interrupted:.2f}")
    """
)


def test_statements_wait_on_the_hub_and_stay_interruptible(pg_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if k not in ("LD_PRELOAD", "FAKETIME")}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, pg_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    together, interrupted = (float(v) for v in result.stdout.split())
    assert together < 0.95  # not one after the other (2 × 0.5 s)
    assert interrupted < 1.0  # not the 5 s the server would take


@pytest.fixture
def pg_url():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL pointing at PostgreSQL")
    return url
