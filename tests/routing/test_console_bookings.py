"""Moving and cancelling from the screen-pop, the appointment page and the customer page;
availability pages and the salesperson's own login; the customer's change link."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from sqlalchemy import select

from models import (
    Appointment,
    BookingStatus,
    Call,
    Enquiry,
    EnquiryKind,
    OutboundEmail,
    Outcome,
    Role,
    SalespersonHours,
    User,
    utcnow,
)
from notifications.reminders import change_token
from routing.desk.booking import book_appointment, free_slots
from routing.desk.zone import org_zone
from tests.factories import (
    make_business_hours,
    make_call,
    make_customer,
    make_salesperson,
    make_user,
)
from tests.test_app import csrf_from, login


@pytest.fixture
def desk(db_session):
    # Every day open around the clock, so free slots exist whenever the test runs.
    make_business_hours(db_session, opens=time(0, 0), closes=time(23, 59), days=7)
    cora = make_user(db_session, role=Role.COORDINATOR, email="cora@example.com", name="Cora")
    alice = make_salesperson(db_session, name="Alice Seller", email="alice@example.com")
    dana = make_customer(
        db_session, name="Dana Buyer", email="dana@buyer.example.com", salesperson=alice
    )
    db_session.commit()
    return cora, alice, dana


def _book(db_session, alice, dana, cora, index=0):
    zone = org_zone(db_session)
    slot = free_slots(db_session, alice.id, zone=zone, now=utcnow())[index + 4]
    appointment = book_appointment(
        db_session,
        salesperson=alice,
        customer=dana,
        start=slot.start,
        length_minutes=30,
        zone=zone,
        actor=cora,
        mail_from="sales@example.com",
        place="Showroom",
        now=utcnow(),
    )
    db_session.commit()
    return appointment


def _token(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return csrf_from(page.get_data(as_text=True)), page.get_data(as_text=True)


def test_the_screen_pop_offers_move_or_cancel_only_to_a_caller_with_something_coming_up(
    client, db_session, desk
):
    cora, alice, dana = desk
    stranger_call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/calls/{stranger_call.id}").get_data(as_text=True)
    assert 'value="appointment_change"' not in page

    appointment = _book(db_session, alice, dana, cora)
    call = make_call(db_session, line=alice.lines[0], customer=dana, answered_by=cora)
    db_session.commit()
    token, page = _token(client, f"/calls/{call.id}")
    assert "Move or cancel an appointment" in page
    field = f"move_appointment_{appointment.id}"
    options = re.findall(rf'<select id="{field}".*?</select>', page, re.S)[0]
    new_start = re.findall(r'<option value="([^"]+)"', options)[3]

    response = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": token,
            "outcome": "appointment_change",
            "change_booking": f"appointment:{appointment.id}",
            "change_action": "move",
            field: new_start,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db_session.expire_all()
    moved = db_session.get(Appointment, appointment.id)
    assert moved.start_at.isoformat() == new_start and moved.sequence == 1
    assert db_session.get(Call, call.id).outcome is Outcome.APPOINTMENT_CHANGE
    updates = db_session.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "appointment-update")
    ).all()
    assert sorted(e.to_email for e in updates) == ["alice@example.com", "dana@buyer.example.com"]


def test_cancel_from_the_screen_pop_needs_no_new_time(client, db_session, desk):
    cora, alice, dana = desk
    appointment = _book(db_session, alice, dana, cora)
    call = make_call(db_session, line=alice.lines[0], customer=dana, answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    token, _ = _token(client, f"/calls/{call.id}")
    response = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": token,
            "outcome": "appointment_change",
            "change_booking": f"appointment:{appointment.id}",
            "change_action": "cancel",
            "cancel_reason": "Found another supplier",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    cancelled = db_session.get(Appointment, appointment.id)
    assert cancelled.status is BookingStatus.CANCELLED
    assert cancelled.cancel_reason == "Found another supplier"


def test_the_appointment_page_moves_and_cancels_and_the_customer_page_links_to_it(
    client, db_session, desk
):
    cora, alice, dana = desk
    appointment = _book(db_session, alice, dana, cora)
    login(client, cora.email)
    customer_page = client.get(f"/customers/{dana.id}").get_data(as_text=True)
    assert f"/appointments/{appointment.id}" in customer_page and "move or cancel" in customer_page

    token, page = _token(client, f"/appointments/{appointment.id}")
    options = re.findall(r'<option value="([^"]+)"', page.split('id="start"')[1])
    stale = client.post(
        f"/appointments/{appointment.id}/move",
        data={"csrf_token": token, "start": options[2], "sequence": "7"},
    )
    assert stale.status_code == 409 and "since you opened the page" in stale.get_data(True)
    moved = client.post(
        f"/appointments/{appointment.id}/move",
        data={"csrf_token": token, "start": options[2], "sequence": "0", "length_minutes": "60"},
    )
    assert moved.status_code == 302
    db_session.expire_all()
    assert db_session.get(Appointment, appointment.id).start_at.isoformat() == options[2]

    bad = client.post(
        f"/appointments/{appointment.id}/move", data={"csrf_token": token, "start": "soon"}
    )
    assert bad.status_code == 422 and "Pick a free slot" in bad.get_data(True)
    cancelled = client.post(
        f"/appointments/{appointment.id}/cancel",
        data={"csrf_token": token, "cancel_reason": "Ill", "sequence": "1"},
    )
    assert cancelled.status_code == 302
    page = client.get(f"/appointments/{appointment.id}").get_data(as_text=True)
    assert "cancelled" in page and "Move it" not in page
    assert "moved" in page and "cancelled" in page  # the history


def test_account_managers_see_an_appointment_but_cannot_move_it(client, db_session, desk):
    cora, alice, dana = desk
    appointment = _book(db_session, alice, dana, cora)
    manager = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="am@example.com")
    db_session.commit()
    login(client, manager.email)
    token, page = _token(client, f"/appointments/{appointment.id}")
    assert "Move it" not in page
    response = client.post(
        f"/appointments/{appointment.id}/cancel", data={"csrf_token": token, "cancel_reason": "x"}
    )
    assert response.status_code == 403


def test_a_salesperson_with_a_login_edits_her_own_availability_and_sees_nothing_else(
    client, db_session, desk
):
    cora, alice, dana = desk
    bob = make_salesperson(db_session, name="Bob Seller", email="bob@example.com")
    admin = make_user(db_session, role=Role.ADMIN, email="admin@example.com")
    db_session.commit()
    login(client, admin.email)
    token, page = _token(client, f"/admin/salespeople/{alice.id}")
    assert "Give Alice Seller a login" in page
    response = client.post(
        f"/admin/salespeople/{alice.id}/login",
        data={
            "csrf_token": token,
            "password": "long enough pw",
            "password_again": "long enough pw",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    user = db_session.scalar(select(User).where(User.email == "alice@example.com"))
    assert user.role is Role.SALESPERSON and alice.user_id == user.id
    client.post("/logout", data={"csrf_token": token})

    login(client, "alice@example.com", "long enough pw")
    home = client.get("/")
    assert home.status_code == 302 and home.location.endswith(
        f"/salespeople/{alice.id}/availability"
    )
    token, page = _token(client, f"/salespeople/{alice.id}/availability")
    form = {"csrf_token": token, "own_hours": "own", "appointment_minutes": "60"}
    form |= {"works_1": "on", "from_1": "10:00", "to_1": "12:00"}
    assert client.post(f"/salespeople/{alice.id}/availability", data=form).status_code == 302
    db_session.expire_all()
    assert alice.own_hours and alice.appointment_minutes == 60
    assert [(h.weekday, h.opens_at, h.closes_at) for h in alice.hours] == [(1, time(10), time(12))]
    response = client.post(
        f"/salespeople/{alice.id}/time-off",
        data={"csrf_token": token, "first_day": "2027-01-04", "note": "Trade fair"},
    )
    assert response.status_code == 302
    assert alice.time_off[0].note == "Trade fair"
    assert client.get(f"/salespeople/{alice.id}/calendar").status_code == 200
    forbidden = [
        "/customers",
        "/calls/live",
        "/outbox",
        f"/salespeople/{bob.id}/availability",
        f"/salespeople/{bob.id}/calendar",
        "/admin/",
        f"/customers/{dana.id}",
    ]
    for path in forbidden:
        assert client.get(path).status_code == 403, path
    bad = client.post(
        f"/salespeople/{alice.id}/availability",
        data={"csrf_token": token, "own_hours": "own", "works_2": "on", "from_2": "15:00",
              "to_2": "09:00", "appointment_minutes": "30"},
    )  # fmt: skip
    assert bad.status_code == 422 and "ends before it starts" in bad.get_data(True)


def test_coordinators_see_availability_read_only(client, db_session, desk):
    cora, alice, _ = desk
    alice.hours.append(SalespersonHours(weekday=0, opens_at=time(9), closes_at=time(12)))
    alice.own_hours = True
    db_session.commit()
    login(client, cora.email)
    token, page = _token(client, f"/salespeople/{alice.id}/availability")
    assert "Save hours" not in page
    response = client.post(
        f"/salespeople/{alice.id}/availability", data={"csrf_token": token, "own_hours": "team"}
    )
    assert response.status_code == 403


def test_the_change_link_opens_an_enquiry_for_the_coordinators(app, client, db_session, desk):
    cora, alice, dana = desk
    appointment = _book(db_session, alice, dana, cora)
    token = change_token(app.config["SECRET_KEY"], appointment)
    page = client.get(f"/bookings/change/{token}")
    assert page.status_code == 200 and "Your appointment with Alice Seller" in page.get_data(True)
    csrf = csrf_from(page.get_data(as_text=True))
    empty = client.post(f"/bookings/change/{token}", data={"csrf_token": csrf, "message": " "})
    assert empty.status_code == 422
    sent = client.post(
        f"/bookings/change/{token}",
        data={"csrf_token": csrf, "message": "Could we make it Friday afternoon?"},
    )
    assert sent.status_code == 200 and "we have your request" in sent.get_data(True)
    (enquiry,) = db_session.scalars(select(Enquiry)).all()
    assert enquiry.kind is EnquiryKind.CHANGE_REQUEST and enquiry.customer_id == dana.id
    assert "Friday afternoon" in enquiry.notes and enquiry.line_id == alice.lines[0].id
    assert enquiry.sla_deadline > utcnow() - timedelta(minutes=1)

    assert client.get(f"/bookings/change/{token}x").status_code == 404
    login(client, cora.email)
    queue = client.get("/enquiries").get_data(as_text=True)
    assert "change request" in queue and "Friday afternoon" in queue


def test_admins_set_the_reminder_time_and_pending_reminders_follow(client, db_session, desk):
    from models import OrgSettings

    cora, alice, dana = desk
    admin = make_user(db_session, role=Role.ADMIN, email="admin@example.com")
    db_session.commit()
    appointment = book_appointment(
        db_session,
        salesperson=alice,
        customer=dana,
        start=free_slots(db_session, alice.id, zone=org_zone(db_session), now=utcnow())[-1].start,
        length_minutes=30,
        zone=org_zone(db_session),
        actor=cora,
        mail_from="sales@example.com",
        now=utcnow(),
    )
    db_session.commit()
    reminder = db_session.get(OutboundEmail, appointment.reminder_email_id)
    login(client, admin.email)
    token, page = _token(client, "/admin/settings")
    assert 'value="16:00"' in page
    bad = client.post("/admin/settings/reminders", data={"csrf_token": token, "reminder_time": "x"})
    assert bad.status_code == 422
    response = client.post(
        "/admin/settings/reminders", data={"csrf_token": token, "reminder_time": "09:15"}
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.scalar(select(OrgSettings)).reminder_time == time(9, 15)
    zone = org_zone(db_session)
    assert reminder.next_attempt_at.astimezone(zone).time() == time(9, 15)


def test_time_off_over_a_booked_appointment_lists_it_to_be_moved(client, db_session, desk):
    cora, alice, dana = desk
    admin = make_user(db_session, role=Role.ADMIN, email="admin@example.com")
    db_session.commit()
    appointment = _book(db_session, alice, dana, cora)
    day = appointment.start_at.astimezone(org_zone(db_session)).date().isoformat()
    login(client, admin.email)
    token, _ = _token(client, f"/salespeople/{alice.id}/availability")
    page = client.post(
        f"/salespeople/{alice.id}/time-off",
        data={"csrf_token": token, "first_day": day, "last_day": day, "note": "Ill"},
    ).get_data(as_text=True)
    assert "need moving" in page and f"/appointments/{appointment.id}" in page
    assert day not in {
        s.start.astimezone(org_zone(db_session)).date().isoformat()
        for s in free_slots(db_session, alice.id, zone=org_zone(db_session), now=utcnow())
    }


def test_her_login_follows_her_salesperson_record(db_session):
    from routing.setup.admin import Actor, save_salesperson
    from routing.setup.users import create_user

    alice = make_salesperson(db_session, name="Alice Seller", email="alice@example.com")
    login = create_user(
        db_session, email="alice@example.com", role=Role.SALESPERSON, password="long enough pw"
    )
    assert alice.user_id == login.id
    actor = Actor("admin@example.com")
    save_salesperson(
        db_session, actor, salesperson_id=alice.id, name="Alice Seller",
        email="alice.seller@example.com", phone=None,
    )  # fmt: skip
    assert login.email == "alice.seller@example.com" and login.active
    save_salesperson(
        db_session, actor, salesperson_id=alice.id, name="Alice Seller",
        email="alice.seller@example.com", phone=None, active=False,
    )  # fmt: skip
    assert not login.active


def test_a_salesperson_login_needs_a_salesperson_with_that_email(db_session):
    from routing.setup.users import InvalidField, create_user

    with pytest.raises(InvalidField, match="no salesperson"):
        create_user(db_session, email="nobody@example.com", role=Role.SALESPERSON, password="x" * 9)


def test_the_cli_gives_a_salesperson_a_login_that_sees_only_her_appointments(
    runner, client, db_session, desk
):
    from routing.cli import main

    cora, alice, dana = desk
    bob = make_salesperson(db_session, name="Bob Seller", email="bob@example.com")
    db_session.commit()
    mine = _book(db_session, alice, dana, cora)
    theirs = _book(db_session, bob, make_customer(db_session, salesperson=bob), cora)
    result = runner.invoke(
        main,
        ["user", "create", "--email", "alice@example.com", "--role", "salesperson",
         "--password", "long enough pw"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    refused = runner.invoke(
        main,
        ["user", "create", "--email", "eve@example.com", "--role", "salesperson",
         "--password", "long enough pw"],
    )  # fmt: skip
    assert refused.exit_code != 0 and "no salesperson" in refused.output
    login(client, "alice@example.com", "long enough pw")
    page = client.get(f"/appointments/{mine.id}").get_data(as_text=True)
    assert "Dana Buyer" in page and "Move it" not in page
    assert client.get(f"/appointments/{theirs.id}").status_code == 403
    assert client.get(f"/teleconferences/{theirs.id}").status_code == 403


def test_a_teleconference_moves_and_cancels_from_its_page(client, db_session, desk):
    from models import OrgSettings, Teleconference
    from routing.desk.booking import create_teleconference

    cora, alice, dana = desk
    settings = db_session.scalar(select(OrgSettings)) or OrgSettings()
    settings.teleconference_number = "+16465550100"
    db_session.add(settings)
    db_session.flush()
    zone = org_zone(db_session)
    conference = create_teleconference(
        db_session,
        title="Kitchen plans",
        start=utcnow() + timedelta(days=3),
        length_minutes=30,
        participants=[],
        zone=zone,
        actor=cora,
        mail_from="sales@example.com",
        customer=dana,
        salesperson=alice,
        now=utcnow(),
    )
    db_session.commit()
    login(client, cora.email)
    token, page = _token(client, f"/teleconferences/{conference.id}")
    assert conference.pin in page and "Move it" in page
    new_local = (utcnow() + timedelta(days=4)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    moved = client.post(
        f"/teleconferences/{conference.id}/move",
        data={"csrf_token": token, "start": new_local, "sequence": "0"},
    )
    assert moved.status_code == 302, moved.get_data(as_text=True)[:500]
    db_session.expire_all()
    conference = db_session.get(Teleconference, conference.id)
    assert conference.start_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M") == new_local
    past = client.post(
        f"/teleconferences/{conference.id}/move",
        data={"csrf_token": token, "start": "2020-01-01T10:00"},
    )
    assert past.status_code == 422 and "must be in the future" in past.get_data(as_text=True)
    cancelled = client.post(
        f"/teleconferences/{conference.id}/cancel", data={"csrf_token": token, "sequence": "1"}
    )
    assert cancelled.status_code == 302
    db_session.expire_all()
    conference = db_session.get(Teleconference, conference.id)
    assert conference.status is BookingStatus.CANCELLED and conference.active_pin is None
