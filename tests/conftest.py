"""Fixtures shared by every test: the app on a test database, a session, clients.

Each test runs inside one outer transaction that is rolled back at the end; the app's
own sessions join it through savepoints (SQLAlchemy's "joining an external transaction"
recipe), so tests never see each other's rows. Set TEST_DATABASE_URL to run the suite on
PostgreSQL; by default it runs on a SQLite file in a temporary folder.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

import models
from config import TestConfig
from models import make_engine
from routing import create_app
from routing.cli.db import upgrade
from routing.database import get_db

TEST_AUTH_TOKEN = "test-auth-token"


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _block_network() -> Iterator[None]:
    """Tests never reach the network: only loopback connections are allowed."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        if not _is_local(address):
            raise RuntimeError(f"tests may not reach the network (tried {address!r})")
        return real_connect(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'switchboard-test.sqlite3'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The test database, emptied and migrated to the newest revision once per run."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        models.Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
    upgrade(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(database_url: str, engine: Engine) -> Iterator[Engine]:
    """An engine whose commits are real, for tests of concurrent transactions (PostgreSQL).

    Row locks and SKIP LOCKED only show between separately committed transactions, which
    the usual outer-transaction fixtures cannot give. Every table is emptied afterwards.
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL pointing at PostgreSQL")
    real = make_engine(database_url)
    yield real
    with real.begin() as conn:
        for table in reversed(models.Base.metadata.sorted_tables):
            conn.execute(table.delete())
    real.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    if outer.is_active:
        outer.rollback()
    conn.close()


@pytest.fixture
def db_session(connection: Connection) -> Iterator[Session]:
    """A session inside the test's transaction; its commits become savepoints."""
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()


def make_test_config(database_url: str, **overrides: object) -> TestConfig:
    environ = {"DATABASE_URL": database_url, "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN}
    settings = {"WTF_CSRF_ENABLED": True, "SERVER_NAME": None}
    settings.update(overrides)
    return TestConfig(environ, settings)


@pytest.fixture
def app_overrides() -> dict[str, object]:
    """Override in a test module to change the app's settings."""
    return {}


@pytest.fixture
def app(database_url: str, connection: Connection, app_overrides: dict[str, object]):
    app = create_app(make_test_config(database_url, **app_overrides))
    database = get_db(app)
    database.engine.dispose()
    database.Session.configure(bind=connection, join_transaction_mode="create_savepoint")
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
