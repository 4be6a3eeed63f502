"""Admin pages: only admins get in, every form is CSRF-protected, validated and audited."""

from __future__ import annotations

import io
import re
from datetime import date, time

import pytest
from sqlalchemy import delete, event, select

from models import (
    ApiToken,
    AuditEntry,
    BusinessHours,
    Holiday,
    Line,
    OrgSettings,
    OutboundEmail,
    Role,
    Salesperson,
    User,
    utcnow,
)
from models.audit import record
from notifications.jobs import create_job
from routing.errors import Conflict
from routing.setup import admin as directory
from routing.setup import users as staff
from routing.setup.users import InvalidField
from routing.tokens import verify_token
from tests.factories import DEFAULT_PASSWORD, make_salesperson, make_user
from tests.test_app import csrf_from, login


@pytest.fixture
def admin(db_session):
    user = make_user(db_session, role=Role.ADMIN, email="ada@example.com", name="Ada Admin")
    db_session.commit()
    return user


@pytest.fixture
def admin_client(client, admin):
    assert login(client, admin.email).status_code == 302
    return client


def post_form(client, page: str, action: str, data: dict[str, str]):
    """Submit a form the way a browser does: fetch the page, send its CSRF token back."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def audit_actions(db_session, entity_type: str) -> list[str]:
    return list(
        db_session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_type == entity_type)
            .order_by(AuditEntry.id)
        )
    )


@pytest.mark.parametrize(
    "page",
    ["/admin/", "/admin/salespeople", "/admin/users", "/admin/hours", "/admin/settings"],
)
def test_coordinator_gets_403_on_admin_pages(client, db_session, page):
    make_user(db_session, role=Role.COORDINATOR, email="cora@example.com")
    db_session.commit()
    login(client, "cora@example.com")
    response = client.get(page)
    assert response.status_code == 403
    assert "Only admins can change the directory." in response.get_data(as_text=True)


def test_account_manager_cannot_post_admin_forms(client, db_session):
    make_user(db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com")
    db_session.commit()
    login(client, "bob@example.com")
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post(
        "/admin/salespeople",
        data={"name": "X", "email": "x@example.com", "csrf_token": token},
    )
    assert response.status_code == 403
    assert db_session.scalar(select(Salesperson)) is None


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "/login?next=/admin/users" in response.headers["Location"]


def test_admin_sees_admin_link_and_coordinator_does_not(client, db_session, admin):
    login(client, admin.email)
    assert 'href="/admin/"' in client.get("/").get_data(as_text=True)
    other = client.application.test_client()
    make_user(db_session, role=Role.COORDINATOR, email="cora@example.com")
    db_session.commit()
    login(other, "cora@example.com")
    assert 'href="/admin/"' not in other.get("/").get_data(as_text=True)


def test_forged_admin_form_without_csrf_token_is_refused(admin_client, db_session):
    response = admin_client.post(
        "/admin/salespeople", data={"name": "Mallory", "email": "mallory@example.com"}
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert db_session.scalar(select(Salesperson)) is None


def test_add_salesperson_with_a_line(admin_client, db_session):
    response = post_form(
        admin_client,
        "/admin/salespeople",
        "/admin/salespeople",
        {
            "name": "Alice Smith",
            "email": "Alice@Example.com",
            "phone": "",
            "public_number": "(312) 555-0101",
            "twilio_number": "646 555 0101",
        },
    )
    assert response.status_code == 302
    alice = db_session.scalar(select(Salesperson).where(Salesperson.email == "alice@example.com"))
    assert [(line.public_number, line.twilio_number) for line in alice.lines] == [
        ("+13125550101", "+16465550101")
    ]
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added Alice Smith." in page
    assert "+1 646-555-0101" in page
    assert audit_actions(db_session, "salesperson") == ["create"]
    assert audit_actions(db_session, "line") == ["create"]


def test_bad_phone_rerenders_form_with_field_error_and_saves_nothing(admin_client, db_session):
    response = post_form(
        admin_client,
        "/admin/salespeople",
        "/admin/salespeople",
        {
            "name": "Alice Smith",
            "email": "alice@example.com",
            "public_number": "12345",
            "twilio_number": "6465550101",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="e-public_number"' in html
    assert "&#39;12345&#39; is not a valid phone number" in html
    assert 'value="Alice Smith"' in html  # what was typed is kept
    assert db_session.scalar(select(Salesperson)) is None
    assert db_session.scalar(select(AuditEntry)) is None


def test_bad_email_is_a_field_error(admin_client, db_session):
    response = post_form(
        admin_client,
        "/admin/salespeople",
        "/admin/salespeople",
        {"name": "Alice", "email": "alice@"},
    )
    assert response.status_code == 422
    assert 'id="e-email"' in response.get_data(as_text=True)
    assert db_session.scalar(select(Salesperson)) is None


def test_twilio_number_of_another_line_is_refused(admin_client, db_session):
    make_salesperson(db_session, name="Tom Becker", twilio_number="+16465550101")
    rahul = make_salesperson(db_session, name="Rahul Mehta")
    db_session.commit()
    page = f"/admin/salespeople/{rahul.id}"
    response = post_form(
        admin_client,
        page,
        f"{page}/lines",
        {"public_number": "3125550177", "twilio_number": "+1 646 555 0101"},
    )
    assert response.status_code == 422
    assert "+16465550101 is already on Tom Becker&#39;s line" in response.get_data(as_text=True)
    assert len(db_session.scalars(select(Line).where(Line.salesperson_id == rahul.id)).all()) == 1


def test_edit_line_switches_it_off_and_audits(admin_client, db_session):
    person = make_salesperson(db_session)
    line = person.lines[0]
    db_session.commit()
    page = f"/admin/salespeople/{person.id}"
    response = post_form(
        admin_client,
        page,
        f"{page}/lines/{line.id}",
        {"public_number": line.public_number, "twilio_number": line.twilio_number},
    )
    assert response.status_code == 302
    db_session.refresh(line)
    assert line.active is False
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "line"))
    assert entry.actor == "ada@example.com"
    assert entry.details == {"active": [True, False]}


def test_create_user_then_log_in_with_it(admin_client, client, db_session):
    response = post_form(
        admin_client,
        "/admin/users",
        "/admin/users",
        {
            "name": "Dev Patel",
            "email": "dev@example.com",
            "role": "coordinator",
            "phone": "415-555-0202",
            "capacity": "",
            "password": "ring-ring-ring",
            "password_again": "ring-ring-ring",
        },
    )
    assert response.status_code == 302
    dev = db_session.scalar(select(User).where(User.email == "dev@example.com"))
    assert (dev.role, dev.phone) == (Role.COORDINATOR, "+14155550202")
    assert audit_actions(db_session, "user") == ["create"]
    fresh = client.application.test_client()
    assert login(fresh, "dev@example.com", "ring-ring-ring").status_code == 302


def test_create_user_with_duplicate_email_or_bad_role_is_refused(admin_client, db_session, admin):
    duplicate = post_form(
        admin_client,
        "/admin/users",
        "/admin/users",
        {"name": "Ada Again", "email": "ADA@example.com", "role": "admin"},
    )
    assert duplicate.status_code == 409
    assert "a user with the email ada@example.com already exists" in duplicate.get_data(
        as_text=True
    )
    bad_role = post_form(
        admin_client,
        "/admin/users",
        "/admin/users",
        {"name": "Eve", "email": "eve@example.com", "role": "superuser"},
    )
    assert bad_role.status_code == 422
    assert 'id="e-role"' in bad_role.get_data(as_text=True)
    assert db_session.scalar(select(User).where(User.email == "eve@example.com")) is None


def test_reset_password_of_imported_user(admin_client, client, db_session):
    cora = make_user(db_session, email="cora@example.com", password=None)
    db_session.commit()
    page = f"/admin/users/{cora.id}"
    mismatch = post_form(
        admin_client,
        page,
        f"{page}/password",
        {"password": "first-choice", "password_again": "second-choice"},
    )
    assert mismatch.status_code == 422
    assert "the two passwords differ" in mismatch.get_data(as_text=True)
    ok = post_form(
        admin_client,
        page,
        f"{page}/password",
        {"password": "first-choice", "password_again": "first-choice"},
    )
    assert ok.status_code == 302
    fresh = client.application.test_client()
    assert login(fresh, "cora@example.com", "first-choice").status_code == 302


def test_deactivated_user_cannot_log_in(admin_client, client, db_session):
    cora = make_user(db_session, email="cora@example.com")
    db_session.commit()
    page = f"/admin/users/{cora.id}"
    assert post_form(admin_client, page, f"{page}/active", {}).status_code == 302
    db_session.refresh(cora)
    assert cora.active is False
    assert audit_actions(db_session, "user") == ["deactivate"]
    fresh = client.application.test_client()
    assert login(fresh, "cora@example.com", DEFAULT_PASSWORD).status_code == 401


def test_admin_cannot_lock_themselves_out(admin_client, db_session, admin):
    page = f"/admin/users/{admin.id}"
    response = post_form(admin_client, page, f"{page}/active", {})
    assert response.status_code == 409
    assert "you cannot deactivate yourself" in response.get_data(as_text=True)
    demote = post_form(
        admin_client,
        page,
        page,
        {"name": "Ada", "phone": "", "role": "coordinator", "capacity": "0", "active": "on"},
    )
    assert demote.status_code == 422
    db_session.refresh(admin)
    assert (admin.role, admin.active) == (Role.ADMIN, True)


def test_account_manager_capacity_and_coordinator_availability(admin_client, db_session):
    bob = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com", capacity=5)
    cora = make_user(db_session, role=Role.COORDINATOR, email="cora@example.com")
    db_session.commit()
    page = f"/admin/users/{bob.id}"
    bad = post_form(
        admin_client,
        page,
        page,
        {"name": bob.name, "phone": "", "role": "account_manager", "capacity": "-3"},
    )
    assert bad.status_code == 422
    assert "capacity must be between 0 and" in bad.get_data(as_text=True)
    good = post_form(
        admin_client,
        page,
        page,
        {"name": bob.name, "phone": "", "role": "account_manager", "capacity": "9", "active": "on"},
    )
    assert good.status_code == 302
    db_session.refresh(bob)
    assert bob.capacity == 9
    away = post_form(admin_client, "/admin/users", f"/admin/users/{cora.id}/availability", {})
    assert away.status_code == 302
    db_session.refresh(cora)
    assert cora.available is False
    assert "does not ring" in admin_client.get("/admin/users").get_data(as_text=True)


def user_form(user: User, **changes: str) -> dict[str, str]:
    """The user page's details form as the browser sends it, with ``changes`` typed in."""
    form = {
        "name": user.name,
        "email": user.email,
        "phone": user.phone or "",
        "role": user.role.value,
        "capacity": str(user.capacity or 0),
    }
    form |= {"available": "on"} if user.available else {}
    form |= {"active": "on"} if user.active else {}
    return form | changes


def test_admin_changes_a_users_email_and_they_log_in_with_the_new_one(
    admin_client, client, db_session
):
    cora = make_user(db_session, email="cora@example.com")
    db_session.commit()
    coras_browser = client.application.test_client()
    assert login(coras_browser, "cora@example.com").status_code == 302
    page = f"/admin/users/{cora.id}"
    response = post_form(
        admin_client, page, page, user_form(cora, email="  Cora.Jones@Example.COM ")
    )
    assert response.status_code == 302
    db_session.refresh(cora)
    assert cora.email == "cora.jones@example.com"
    assert 'value="cora.jones@example.com"' in admin_client.get(page).get_data(as_text=True)
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "user"))
    assert (entry.action, entry.actor, entry.entity_id) == ("update", "ada@example.com", cora.id)
    assert entry.details == {"email": ["cora@example.com", "cora.jones@example.com"]}
    # Her open session still works; from now on she logs in with the new address only.
    assert coras_browser.get("/").status_code == 200
    fresh = client.application.test_client()
    assert login(fresh, "cora@example.com").status_code == 401
    assert login(fresh, "cora.jones@example.com").status_code == 302


def test_email_of_another_user_is_refused_and_nothing_changes(admin_client, db_session):
    cora = make_user(db_session, email="cora@example.com", name="Cora")
    make_user(db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com", name="Bob")
    db_session.commit()
    page = f"/admin/users/{cora.id}"
    response = post_form(
        admin_client, page, page, user_form(cora, name="Cora Jones", email="BOB@Example.com")
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'id="e-email"' in html
    assert "a user with the email bob@example.com already exists" in html
    assert 'value="BOB@Example.com"' in html and 'value="Cora Jones"' in html  # as typed
    db_session.refresh(cora)
    assert (cora.name, cora.email) == ("Cora", "cora@example.com")
    assert audit_actions(db_session, "user") == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("cora@", "There must be something after the @-sign"),
        ("cora.example.com", "An email address must have an @-sign"),
        ("", "an email address is required"),
    ],
)
def test_invalid_email_is_a_field_error_and_nothing_changes(
    admin_client, db_session, typed, message
):
    cora = make_user(db_session, email="cora@example.com", name="Cora")
    db_session.commit()
    page = f"/admin/users/{cora.id}"
    response = post_form(admin_client, page, page, user_form(cora, name="Cora J", email=typed))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="e-email"' in html and 'aria-invalid="true"' in html
    assert message in html
    assert f'name="email" type="email" value="{typed}"' in html
    db_session.refresh(cora)
    assert (cora.name, cora.email) == ("Cora", "cora@example.com")
    assert audit_actions(db_session, "user") == []


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ACCOUNT_MANAGER])
def test_only_admins_can_change_a_users_email(client, db_session, role):
    bob = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com")
    someone = make_user(db_session, role=role, email="someone@example.com")
    db_session.commit()
    login(client, someone.email)
    token = csrf_from(client.get("/").get_data(as_text=True))
    for target in (bob, someone):
        response = client.post(
            f"/admin/users/{target.id}",
            data={**user_form(target, email="taken-over@example.com"), "csrf_token": token},
        )
        assert response.status_code == 403
    assert db_session.scalar(select(User).where(User.email == "taken-over@example.com")) is None
    assert audit_actions(db_session, "user") == []


def test_update_user_keeps_or_checks_the_email_without_flask(db_session):
    actor = directory.Actor("cli")
    cora = make_user(db_session, email="cora@example.com", name="Cora")
    make_user(db_session, email="bob@example.com")
    same = {
        "user_id": cora.id,
        "name": "Cora",
        "phone": cora.phone,
        "role": "coordinator",
        "capacity": 0,
        "available": True,
        "active": True,
    }
    staff.update_user(db_session, actor, **same)  # no email: the address is kept
    staff.update_user(db_session, actor, **same, email="CORA@example.com")  # her own
    assert cora.email == "cora@example.com"
    with pytest.raises(Conflict) as clash:
        staff.update_user(db_session, actor, **same, email="Bob@Example.com")
    assert clash.value.details == {"field": "email"}
    with pytest.raises(InvalidField) as bad:
        staff.update_user(db_session, actor, **same, email="bob@")
    assert bad.value.field == "email"
    assert cora.email == "cora@example.com"


def test_business_hours_per_weekday(admin_client, db_session):
    data = {"open_0": "on", "opens_0": "08:00", "closes_0": "18:00"}
    data.update({"open_5": "on", "opens_5": "10:00", "closes_5": "14:00"})
    response = post_form(admin_client, "/admin/hours", "/admin/hours", data)
    assert response.status_code == 302
    rows = {
        row.weekday: (row.opens_at, row.closes_at)
        for row in db_session.scalars(select(BusinessHours))
    }
    assert rows == {0: (time(8), time(18)), 5: (time(10), time(14))}
    backwards = post_form(
        admin_client,
        "/admin/hours",
        "/admin/hours",
        {"open_1": "on", "opens_1": "18:00", "closes_1": "08:00"},
    )
    assert backwards.status_code == 422
    assert "Tuesday closes before it opens" in backwards.get_data(as_text=True)
    assert db_session.scalar(select(BusinessHours).where(BusinessHours.weekday == 1)) is None


def test_holidays_added_validated_and_removed(admin_client, db_session):
    bad = post_form(
        admin_client, "/admin/hours", "/admin/holidays", {"day": "25/12/2026", "holiday_name": "X"}
    )
    assert bad.status_code == 422
    assert "is not a date such as 2026-12-25" in bad.get_data(as_text=True)
    ok = post_form(
        admin_client,
        "/admin/hours",
        "/admin/holidays",
        {"day": "2026-12-25", "holiday_name": "Christmas Day"},
    )
    assert ok.status_code == 302
    holiday = db_session.scalar(select(Holiday))
    assert (holiday.day, holiday.name) == (date(2026, 12, 25), "Christmas Day")
    post_form(admin_client, "/admin/hours", f"/admin/holidays/{holiday.id}/delete", {})
    assert db_session.scalar(select(Holiday)) is None
    assert audit_actions(db_session, "holiday") == ["create", "delete"]


SETTINGS = {
    "name": "Northwind Supply",
    "timezone": "Europe/London",
    "enquiry_sla_minutes": "20",
    "ring_timeout_seconds": "25",
    "supervisor_email": "Boss@Example.com",
    "teleconference_number": "+44 20 7183 8750",
}


def test_organisation_settings_saved(admin_client, db_session):
    response = post_form(admin_client, "/admin/settings", "/admin/settings", SETTINGS)
    assert response.status_code == 302
    settings = db_session.scalar(select(OrgSettings))
    assert (settings.name, settings.timezone, settings.enquiry_sla_minutes) == (
        "Northwind Supply",
        "Europe/London",
        20,
    )
    assert settings.supervisor_email == "boss@example.com"
    assert settings.teleconference_number == "+442071838750"
    assert audit_actions(db_session, "org_settings") == ["update"]


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("/admin/settings", 'id="f-name" name="name" type="text" value="Switchboard"'),
        ("/admin/hours", "Hours and holidays"),
    ],
)
def test_showing_the_settings_of_a_fresh_organisation_writes_nothing(
    admin_client, db_session, connection, page, shown
):
    # Nobody has saved the settings yet (adding the admin may have stamped a row).
    db_session.execute(delete(OrgSettings))
    db_session.commit()
    writes: list[str] = []

    def note_writes(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(connection, "before_cursor_execute", note_writes)
    try:
        response = admin_client.get(page)
    finally:
        event.remove(connection, "before_cursor_execute", note_writes)
    assert response.status_code == 200
    # The defaults are shown all the same.
    assert shown in response.get_data(as_text=True)
    assert writes == []
    assert db_session.scalar(select(OrgSettings)) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "is not a time zone such as Europe/London"),
        ("enquiry_sla_minutes", "soon", "must be a whole number"),
        ("ring_timeout_seconds", "9999", "must be between 5 and 600"),
        ("supervisor_email", "boss@", "There must be something after the @-sign"),
        ("teleconference_number", "0000", "is not a valid phone number"),
    ],
)
def test_bad_settings_are_refused_with_the_field_error(
    admin_client, db_session, field, value, message
):
    response = post_form(
        admin_client, "/admin/settings", "/admin/settings", {**SETTINGS, field: value}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="e-{field}"' in html
    assert message in html
    settings = db_session.scalar(select(OrgSettings))
    assert settings is None or settings.name != "Northwind Supply"


def test_services_work_without_flask(db_session):
    actor = directory.Actor("cli")
    person = directory.save_salesperson(
        db_session, actor, salesperson_id=None, name="Sofia", email="sofia@example.com", phone=None
    )
    with pytest.raises(InvalidField) as error:
        directory.save_line(
            db_session,
            actor,
            salesperson_id=person.id,
            line_id=None,
            public_number="3125550150",
            twilio_number="(312) 555-0150",
        )
    assert error.value.field == "twilio_number"
    only = make_user(db_session, role=Role.ADMIN)
    with pytest.raises(Conflict):
        staff.set_user_active(db_session, actor, user_id=only.id, active=False)


def test_api_token_created_shown_once_and_revoked(admin_client, db_session):
    response = post_form(admin_client, "/admin/tokens", "/admin/tokens", {"name": "ERP"})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    raw = re.search(
        r'id="new-token" type="text" readonly value="([^"]+)"', response.get_data(as_text=True)
    ).group(1)
    assert verify_token(db_session, raw, now=utcnow()) is not None
    assert raw not in admin_client.get("/admin/tokens").get_data(as_text=True)
    token = db_session.scalar(select(ApiToken))
    revoked = post_form(admin_client, "/admin/tokens", f"/admin/tokens/{token.id}/revoke", {})
    assert revoked.status_code == 302
    db_session.expire_all()
    assert verify_token(db_session, raw, now=utcnow()) is None
    assert audit_actions(db_session, "api_token") == ["create", "revoke"]


def test_api_token_needs_a_name(admin_client, db_session):
    response = post_form(admin_client, "/admin/tokens", "/admin/tokens", {"name": "  "})
    assert response.status_code == 422
    assert 'id="e-name"' in response.get_data(as_text=True)
    assert db_session.scalar(select(ApiToken)) is None


def upload(client, kind: str, body: bytes, filename: str = "people.csv"):
    token = csrf_from(client.get("/admin/import").get_data(as_text=True))
    return client.post(
        "/admin/import",
        data={"kind": kind, "file": (io.BytesIO(body), filename), "csrf_token": token},
        content_type="multipart/form-data",
    )


def test_csv_upload_imports_the_file(admin_client, db_session):
    body = "\ufeffname,email,phone\nCora Jensen,cora@example.com,(415) 555-0201\n".encode()
    response = upload(admin_client, "coordinators", body)
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "coordinators: 1 created, 0 updated, 0 unchanged (1 rows)" in page
    cora = db_session.scalar(select(User).where(User.email == "cora@example.com"))
    assert (cora.role, cora.phone) == (Role.COORDINATOR, "+14155550201")


def test_csv_upload_with_bad_rows_lists_them_and_imports_nothing(admin_client, db_session):
    body = b"name,email,phone\nCora,cora@example.com,4155550201\nDev,dev@,12\n"
    response = upload(admin_client, "coordinators", body)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported from people.csv" in html
    assert "line 3: phone: &#39;12&#39; is not a valid phone number" in html
    assert "line 3: email:" in html
    assert db_session.scalar(select(User).where(User.email == "cora@example.com")) is None


def test_teleconference_number_and_lines_never_overlap(admin_client, db_session):
    person = make_salesperson(db_session, name="Tom Becker", twilio_number="+16465550101")
    db_session.commit()
    response = post_form(
        admin_client,
        "/admin/settings",
        "/admin/settings",
        {**SETTINGS, "teleconference_number": "(646) 555-0101"},
    )
    assert response.status_code == 422
    assert "+16465550101 is a line of Tom Becker" in response.get_data(as_text=True)
    post_form(admin_client, "/admin/settings", "/admin/settings", SETTINGS)
    page = f"/admin/salespeople/{person.id}"
    line = post_form(
        admin_client,
        page,
        f"{page}/lines",
        {"public_number": "3125550160", "twilio_number": "+44 20 7183 8750"},
    )
    assert line.status_code == 422
    assert "is the teleconference dial-in number" in line.get_data(as_text=True)


def test_audit_log_lists_filters_and_pages(admin_client, db_session):
    for n in range(55):
        record(db_session, actor="cli", entity_type="user", entity_id=n + 1, action="create")
    record(db_session, actor="api:ERP", entity_type="job", entity_id=7, action="eta_changed")
    db_session.commit()
    first = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "56 entries · page 1 of 2" in first
    assert "eta_changed" in first  # newest first
    assert "Older →" in first
    jobs = admin_client.get("/admin/audit?type=job").get_data(as_text=True)
    assert "1 entry" in jobs and "api:ERP" in jobs and "user #3" not in jobs
    by_actor = admin_client.get("/admin/audit?actor=erp").get_data(as_text=True)
    assert "1 entry" in by_actor


def test_line_whose_mobile_is_another_lines_twilio_number_is_refused(admin_client, db_session):
    make_salesperson(db_session, name="Tom Becker", twilio_number="+16465550101")
    rahul = make_salesperson(db_session, name="Rahul Mehta")
    db_session.commit()
    page = f"/admin/salespeople/{rahul.id}"
    response = post_form(
        admin_client,
        page,
        f"{page}/lines",
        {"public_number": "646-555-0101", "twilio_number": "6465550177"},
    )
    assert response.status_code == 422
    assert 'id="e-public_number-new"' in response.get_data(as_text=True)


def test_csv_upload_check_only_writes_nothing(admin_client, db_session):
    token = csrf_from(admin_client.get("/admin/import").get_data(as_text=True))
    body = b"name,email,phone\nCora Jensen,cora@example.com,(415) 555-0201\n"
    response = admin_client.post(
        "/admin/import",
        data={
            "kind": "coordinators",
            "check": "1",
            "file": (io.BytesIO(body), "c.csv"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "c.csv is good. Importing it would give: coordinators: 1 created" in (
        response.get_data(as_text=True)
    )
    assert db_session.scalar(select(User).where(User.email == "cora@example.com")) is None


def bob_and_a_new_job(db_session, *, capacity: int, reference: str, customer_email: str):
    """Account manager Bob with ``capacity``, then a job arriving from the shop's API."""
    bob = make_user(
        db_session,
        role=Role.ACCOUNT_MANAGER,
        email="bob@example.com",
        name="Bob",
        capacity=capacity,
    )
    db_session.commit()
    job = create_job(
        db_session,
        reference=reference,
        customer={"name": "A Customer", "email": customer_email},
        eta="2026-12-10",
        actor="api:shop",
        now=utcnow(),
    )
    db_session.commit()
    return bob, job


def test_raising_a_managers_capacity_gives_her_the_job_that_was_waiting(admin_client, db_session):
    bob, job = bob_and_a_new_job(
        db_session, capacity=0, reference="W-1", customer_email="wendy@example.com"
    )
    assert job.account_manager_id is None
    page = f"/admin/users/{bob.id}"
    response = post_form(admin_client, page, page, user_form(bob, capacity="3"))
    assert response.status_code == 302
    assert "Waiting jobs now assigned: W-1." in admin_client.get(page).get_data(as_text=True)
    db_session.refresh(job)
    assert job.account_manager_id == bob.id
    emails = db_session.execute(
        select(OutboundEmail.kind, OutboundEmail.to_email).where(OutboundEmail.job_id == job.id)
    ).all()
    assert ("assignment", "bob@example.com") in emails
    assert emails.count(("introduction", "wendy@example.com")) == 1


def test_a_managers_new_email_reaches_the_customer_emails_not_yet_sent(admin_client, db_session):
    bob, job = bob_and_a_new_job(
        db_session, capacity=5, reference="N-1", customer_email="nina@example.com"
    )
    assert job.account_manager_id == bob.id
    page = f"/admin/users/{bob.id}"
    response = post_form(admin_client, page, page, user_form(bob, email="robert@example.com"))
    assert response.status_code == 302
    pending = db_session.scalars(select(OutboundEmail).where(OutboundEmail.job_id == job.id)).all()
    db_session.expire_all()
    intro = next(e for e in pending if e.kind == "introduction")
    assert intro.reply_to == "robert@example.com"
    assert "robert@example.com" in intro.text_body and "bob@example.com" not in intro.text_body
    assignment = next(e for e in pending if e.kind == "assignment")
    assert assignment.to_email == "robert@example.com"


def test_two_admins_saving_the_same_email_at_once_get_a_clear_409(
    admin_client, db_session, monkeypatch
):
    cora = make_user(db_session, email="cora@example.com", name="Cora")
    make_user(db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com", name="Bob")
    db_session.commit()
    # Both admins' checks ran before either saved: only the database's constraint is left.
    monkeypatch.setattr(staff, "check_email_free", lambda *args, **kwargs: None)
    page = f"/admin/users/{cora.id}"
    response = post_form(admin_client, page, page, user_form(cora, email="bob@example.com"))
    assert response.status_code == 409
    assert "nothing was saved" in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(User, cora.id).email == "cora@example.com"
