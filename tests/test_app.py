"""The app factory, health check and login."""

from __future__ import annotations

import re

from models import Role
from tests.factories import DEFAULT_PASSWORD, make_user


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, email: str, password: str = DEFAULT_PASSWORD):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_healthz_answers_when_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_console_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_with_right_password_opens_console(client, db_session):
    user = make_user(db_session, role=Role.COORDINATOR, email="cora@example.com", name="Cora")
    db_session.commit()
    response = login(client, user.email)
    assert response.status_code == 302
    home = client.get("/")
    assert "Welcome, Cora" in home.get_data(as_text=True)


def test_wrong_password_and_unknown_email_get_the_same_generic_error(client, db_session):
    make_user(db_session, email="cora@example.com")
    db_session.commit()
    wrong_password = login(client, "cora@example.com", "nope")
    unknown_email = login(client, "nobody@example.com", "nope")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert "Wrong email or password." in wrong_password.get_data(as_text=True)
    assert "Wrong email or password." in unknown_email.get_data(as_text=True)


def test_login_form_without_csrf_token_is_refused(client, db_session):
    make_user(db_session, email="cora@example.com")
    db_session.commit()
    response = client.post(
        "/login", data={"email": "cora@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/").status_code == 302
