"""Login throttling (PRODUCT.md §4): 10 failures for one email in 15 minutes lock that email
for 15 minutes, known or not; one client address is held to 50 failures over all emails."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import LoginFailure
from routing import create_app
from routing.database import get_db
from routing.login_throttle import (
    ADDRESS_LIMIT,
    EMAIL_LIMIT,
    forget_failures,
    lockout,
    record_failure,
)
from tests.conftest import make_test_config
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.test_app import login

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class Clock:
    """The app's clock in these tests: fixed, moved by hand."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_overrides(clock):
    return {"CLOCK": clock}


@pytest.fixture
def cora(db_session):
    user = make_user(db_session, email="cora@example.com", name="Cora")
    db_session.commit()
    return user


def fail(db_session, email="cora@example.com", address="10.0.0.1", at=T0, times=1):
    for _ in range(times):
        record_failure(db_session, email=email, address=address, now=at)


# --- the rule, with an injected clock ----------------------------------------------------


def test_ten_failures_within_fifteen_minutes_lock_the_email_for_fifteen_minutes(db_session):
    for n in range(EMAIL_LIMIT - 1):
        fail(db_session, at=T0 + n * MINUTE)
    assert lockout(db_session, email="cora@example.com", address="10.0.0.9", now=T0) is None
    tenth = T0 + 14 * MINUTE
    fail(db_session, at=tenth)
    locked = lockout(db_session, email="CORA@example.com ", address="10.0.0.9", now=tenth)
    assert locked is not None and locked.scope == "email"
    assert locked.until == tenth + timedelta(minutes=15)
    # Still locked a second before the end, although most failures are older than 15 min.
    almost = tenth + timedelta(minutes=15) - timedelta(seconds=1)
    assert lockout(db_session, email="cora@example.com", address="10.0.0.9", now=almost)
    assert (
        lockout(db_session, email="cora@example.com", address="10.0.0.9", now=locked.until) is None
    )
    # Another email is not affected.
    assert lockout(db_session, email="bob@example.com", address="10.0.0.9", now=tenth) is None


def test_ten_failures_spread_over_more_than_fifteen_minutes_lock_nothing(db_session):
    for n in range(EMAIL_LIMIT):
        fail(db_session, at=T0 + n * 2 * MINUTE)
    at = T0 + 18 * MINUTE
    assert lockout(db_session, email="cora@example.com", address="10.0.0.1", now=at) is None


def test_one_address_trying_many_emails_is_held_back(db_session):
    for n in range(ADDRESS_LIMIT):
        fail(db_session, email=f"guess{n}@example.com", address="203.0.113.7", at=T0)
    locked = lockout(db_session, email="fresh@example.com", address="203.0.113.7", now=T0)
    assert locked is not None and locked.scope == "address"
    assert lockout(db_session, email="fresh@example.com", address="198.51.100.1", now=T0) is None


def test_old_failures_are_pruned_and_a_success_forgets_the_email(db_session):
    fail(db_session, times=3)
    fail(db_session, email="bob@example.com", at=T0 + 31 * MINUTE)
    assert db_session.scalar(select(func.count(LoginFailure.id))) == 1
    fail(db_session, at=T0 + 31 * MINUTE, times=2)
    forget_failures(db_session, email="Cora@Example.com")
    left = db_session.scalars(select(LoginFailure.email)).all()
    assert left == ["bob@example.com"]


# --- through the login page --------------------------------------------------------------


def wrong(client, email: str, times: int = 1):
    for _ in range(times):
        response = login(client, email, "wrong-password")
    return response


def test_the_right_password_is_refused_once_the_email_is_locked(client, cora, clock):
    assert wrong(client, cora.email, EMAIL_LIMIT).status_code == 401
    response = login(client, cora.email)
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many failed logins for this email. Wait 15 minutes and try again." in page
    assert response.headers["Retry-After"] == "900"
    assert client.get("/").status_code == 302  # no session was started

    clock.now += timedelta(minutes=14)
    assert "Wait 1 minute and" in login(client, cora.email).get_data(as_text=True)
    clock.now += timedelta(minutes=1)
    assert login(client, cora.email).status_code == 302
    assert "Welcome, Cora" in client.get("/").get_data(as_text=True)


def test_an_unknown_email_is_refused_exactly_like_a_known_one(client, cora):
    known = [wrong(client, cora.email) for _ in range(EMAIL_LIMIT + 1)]
    unknown = [wrong(client, "nobody@example.com") for _ in range(EMAIL_LIMIT + 1)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert known[-1].status_code == 429

    def text(response, email):
        page = response.get_data(as_text=True).replace(email, "EMAIL")
        return re.sub(r'(name="csrf-token" content|name="csrf_token" value)="[^"]+"', "", page)

    assert text(known[-1], cora.email) == text(unknown[-1], "nobody@example.com")
    assert text(known[0], cora.email) == text(unknown[0], "nobody@example.com")


def test_a_successful_login_starts_the_count_afresh(client, cora):
    wrong(client, cora.email, EMAIL_LIMIT - 1)
    assert login(client, cora.email).status_code == 302
    client.post("/logout", data={"csrf_token": _token(client)})
    assert wrong(client, cora.email, EMAIL_LIMIT - 1).status_code == 401
    assert login(client, cora.email).status_code == 302


def _token(client) -> str:
    from tests.test_app import csrf_from

    return csrf_from(client.get("/").get_data(as_text=True))


def test_one_address_spraying_emails_is_refused_and_others_are_not(app, db_session, cora):
    for n in range(ADDRESS_LIMIT - 1):  # a few guesses on each of many emails, from one place
        fail(db_session, email=f"guess{n % 10}@example.com", address="203.0.113.7")
    db_session.commit()
    sprayer = app.test_client()
    sprayer.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    assert wrong(sprayer, "guess-last@example.com").status_code == 401
    refused = login(sprayer, cora.email)
    assert refused.status_code == 429
    assert "Too many failed logins from your network." in refused.get_data(as_text=True)
    office = app.test_client()
    office.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert login(office, cora.email).status_code == 302


def test_every_web_process_shares_the_count(app, cora, connection, database_url, clock):
    """Failures through one process lock the email in another (the count is in the database)."""
    other_app = create_app(make_test_config(database_url, CLOCK=clock))
    get_db(other_app).engine.dispose()
    get_db(other_app).Session.configure(bind=connection, join_transaction_mode="create_savepoint")
    first, second = app.test_client(), other_app.test_client()
    wrong(first, cora.email, EMAIL_LIMIT // 2)
    wrong(second, cora.email, EMAIL_LIMIT - EMAIL_LIMIT // 2)
    assert login(first, cora.email).status_code == 429
    assert login(second, cora.email, DEFAULT_PASSWORD).status_code == 429


def test_behind_a_trusted_proxy_the_clients_own_address_is_counted(
    db_session, cora, connection, database_url, clock
):
    app = create_app(make_test_config(database_url, CLOCK=clock, TRUSTED_PROXIES=1))
    get_db(app).engine.dispose()
    get_db(app).Session.configure(bind=connection, join_transaction_mode="create_savepoint")
    for n in range(ADDRESS_LIMIT):
        fail(db_session, email=f"guess{n % 10}@example.com", address="203.0.113.7")
    db_session.commit()
    sprayer, office = app.test_client(), app.test_client()
    for client, address in ((sprayer, "203.0.113.7"), (office, "198.51.100.20")):
        client.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # the proxy, for both
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    assert login(sprayer, cora.email).status_code == 429
    assert login(office, cora.email).status_code == 302
