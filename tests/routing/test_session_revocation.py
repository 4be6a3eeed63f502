"""Logging out, a password change or reset and deactivation end every session of the user
(PRODUCT.md §4): a session cookie taken before no longer works."""

from __future__ import annotations

import pytest

from models import Role
from routing.cli import main
from tests.factories import make_user
from tests.test_app import csrf_from, login

COOKIE = "switchboard_session"


@pytest.fixture
def people(db_session):
    cora = make_user(db_session, email="cora@example.com", name="Cora")
    ada = make_user(db_session, role=Role.ADMIN, email="ada@example.com", name="Ada")
    db_session.commit()
    return cora, ada


def logged_in(app, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def stolen_copy(app, client):
    """Another browser holding the same session cookie (copied, stolen, an old tab)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    assert thief.get("/").status_code == 200  # it works, for now
    return thief


def refused(client) -> bool:
    page = client.get("/")
    poll = client.get("/calls/live.json")
    return (
        page.status_code == 302
        and "/login" in page.headers["Location"]
        and poll.status_code == 302
        and "/login" in poll.headers["Location"]
    )


def test_logging_out_ends_every_session_of_the_user(app, people):
    cora = logged_in(app, "cora@example.com")
    laptop = logged_in(app, "cora@example.com")
    stolen = stolen_copy(app, cora)
    token = csrf_from(cora.get("/").get_data(as_text=True))
    assert cora.post("/logout", data={"csrf_token": token}).status_code == 302
    assert refused(stolen) and refused(laptop) and refused(cora)
    # Logging in again works, with a new cookie.
    assert logged_in(app, "cora@example.com").get("/").status_code == 200


def test_a_password_reset_from_the_command_line_ends_her_sessions(app, people, runner):
    cora = logged_in(app, "cora@example.com")
    stolen = stolen_copy(app, cora)
    result = runner.invoke(
        main, ["user", "password", "--email", "cora@example.com", "--password", "a-new-secret"]
    )
    assert result.exit_code == 0, result.output
    assert refused(stolen) and refused(cora)
    assert login(app.test_client(), "cora@example.com", "a-new-secret").status_code == 302


def test_a_password_reset_by_an_admin_ends_her_sessions(app, people):
    cora = logged_in(app, "cora@example.com")
    stolen = stolen_copy(app, cora)
    admin = logged_in(app, "ada@example.com")
    page = admin.get(f"/admin/users/{people[0].id}").get_data(as_text=True)
    response = admin.post(
        f"/admin/users/{people[0].id}/password",
        data={
            "csrf_token": csrf_from(page),
            "password": "a-new-secret",
            "password_again": "a-new-secret",
        },
    )
    assert response.status_code == 302
    assert refused(stolen) and refused(cora)
    assert admin.get("/").status_code == 200  # the admin's own session is untouched


def test_an_admin_changing_her_own_password_stays_logged_in_here_only(app, people):
    here = logged_in(app, "ada@example.com")
    elsewhere = logged_in(app, "ada@example.com")
    page = here.get(f"/admin/users/{people[1].id}").get_data(as_text=True)
    here.post(
        f"/admin/users/{people[1].id}/password",
        data={
            "csrf_token": csrf_from(page),
            "password": "new-pass-1",
            "password_again": "new-pass-1",
        },
    )
    assert here.get("/").status_code == 200
    assert refused(elsewhere)


@pytest.mark.parametrize("how", ["deactivate", "edit"])
def test_deactivation_ends_her_sessions_and_reactivation_does_not_revive_them(app, people, how):
    cora_user = people[0]
    cora = logged_in(app, "cora@example.com")
    stolen = stolen_copy(app, cora)
    admin = logged_in(app, "ada@example.com")
    token = csrf_from(admin.get(f"/admin/users/{cora_user.id}").get_data(as_text=True))
    if how == "deactivate":
        admin.post(f"/admin/users/{cora_user.id}/active", data={"csrf_token": token})
        assert refused(stolen) and refused(cora)
        admin.post(
            f"/admin/users/{cora_user.id}/active", data={"csrf_token": token, "active": "on"}
        )
    else:
        form = {
            "csrf_token": token,
            "name": "Cora",
            "email": cora_user.email,
            "phone": cora_user.phone,
            "role": "coordinator",
            "capacity": "0",
            "available": "on",
        }  # "active" unticked
        assert admin.post(f"/admin/users/{cora_user.id}", data=form).status_code == 302
        assert refused(stolen) and refused(cora)
        admin.post(f"/admin/users/{cora_user.id}", data={**form, "active": "on"})
    assert refused(stolen) and refused(cora)
    assert logged_in(app, "cora@example.com").get("/").status_code == 200
