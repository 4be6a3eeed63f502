"""Pooled PostgreSQL connections: pinged only after sitting idle, replaced when dead."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from models import db as models_db
from models import make_engine

URL = os.environ.get("TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not URL.startswith("postgresql"), reason="needs TEST_DATABASE_URL pointing at PostgreSQL"
)


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _count_pings(engine, monkeypatch) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return pings


def test_idle_connection_killed_by_the_server_is_replaced(monkeypatch):
    # Every returned connection counts as idle "long enough" to be pinged at checkout.
    monkeypatch.setattr(models_db, "IDLE_PING_SECONDS", 0.0)
    engine = make_engine(URL, pool_size=1, max_overflow=0)
    admin = make_engine(URL, isolation_level="AUTOCOMMIT")
    try:
        killed = _backend_pid(engine)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != killed
    finally:
        engine.dispose()
        admin.dispose()


def test_recently_used_connection_is_not_pinged(monkeypatch):
    engine = make_engine(URL, pool_size=1, max_overflow=0)
    pings = _count_pings(engine, monkeypatch)
    try:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first
        assert pings == []
    finally:
        engine.dispose()


def test_idle_connection_is_pinged(monkeypatch):
    monkeypatch.setattr(models_db, "IDLE_PING_SECONDS", 0.0)
    engine = make_engine(URL, pool_size=1, max_overflow=0)
    pings = _count_pings(engine, monkeypatch)
    try:
        _backend_pid(engine)  # a new connection: nothing to ping
        _backend_pid(engine)
        assert pings == [1]
    finally:
        engine.dispose()
