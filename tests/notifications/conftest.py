"""Fixtures for the notifications area: a Database inside the test's transaction, a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import Database, Role
from notifications.jobs import JobSettings, create_job
from tests.factories import make_user

SENDGRID_HOST = "https://sendgrid.test"
SENDGRID_URL = f"{SENDGRID_HOST}/v3/mail/send"
MAIL_FROM = "Acme Deliveries <orders@acme.example>"


class FakeClock:
    """Time that only moves when a test says so."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def db(engine, connection) -> Database:
    """A Database whose sessions join the test's rolled-back transaction."""
    database = Database(engine)
    database.Session.configure(bind=connection, join_transaction_mode="create_savepoint")
    return database


@pytest.fixture
def job_settings() -> JobSettings:
    return JobSettings(timezone="Europe/Berlin", settle_minutes=10, secret_key="s3cret")


@pytest.fixture
def make_job(db_session, clock, job_settings):
    """Create a job (with an account manager) the way the API does; commits."""

    def make(reference: str = "4711", eta: str = "2026-12-10", **kwargs):
        if "account_manager_email" not in kwargs:
            manager = make_user(
                db_session,
                role=Role.ACCOUNT_MANAGER,
                capacity=10,
                name="Carol King",
                email=f"carol.{reference.lower()}@acme.example",
                phone="+14155550100",
            )
            kwargs["account_manager_email"] = manager.email
        kwargs.setdefault("customer", {"name": "Dana Diaz", "email": "dana@example.com"})
        job = create_job(
            db_session,
            reference=reference,
            eta=eta,
            actor="test",
            settings=job_settings,
            now=clock(),
            **kwargs,
        )
        db_session.commit()
        return job

    return make
