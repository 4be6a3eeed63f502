"""A customer calls to move her appointment: the coordinator does it from the screen-pop."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from models import Appointment, Call, Customer, OutboundEmail, Outcome, Salesperson, User, utcnow
from routing.desk.booking import book_appointment, free_slots
from tests.browser.conftest import log_in, press_one, ring, shot

pytestmark = pytest.mark.browser

CALLER = "+12025550177"
ZONE = ZoneInfo("America/New_York")


def test_moving_an_appointment_from_the_screen_pop(page, live_server, office):
    with live_server.session() as session:
        alice = session.get(Salesperson, office.salesperson_id)
        dana = Customer(
            name="Dana Buyer", phone=CALLER, email="dana@buyer.example.com", salesperson_id=alice.id
        )
        session.add(dana)
        session.flush()
        slot = free_slots(session, alice.id, zone=ZONE, now=utcnow())[6]
        appointment = book_appointment(
            session,
            salesperson=alice,
            customer=dana,
            start=slot.start,
            length_minutes=30,
            zone=ZONE,
            actor=session.get(User, office.coordinator_id),
            mail_from="sales@example.com",
            place="Showroom",
            now=utcnow(),
        )
        session.commit()
        appointment_id, old_start = appointment.id, appointment.start_at

    log_in(page, office.coordinator_email)
    page.goto("/calls/live")
    sid = "CA" + "d" * 32
    ring(live_server, office, sid, CALLER)
    press_one(live_server, office, sid)
    # The screen-pop opens by itself (timing is the other browser test's business).
    page.wait_for_url(re.compile(r"/calls/\d+$"), timeout=15000)
    expect(page.get_by_role("heading", name="Dana Buyer")).to_be_visible()
    expect(page.get_by_text("Appointment", exact=False).first).to_be_visible()

    page.get_by_label("Move or cancel an appointment").check()
    section = page.get_by_role("group", name="Move or cancel an appointment")
    expect(section).to_be_visible()
    expect(page.get_by_role("group", name="Teleconference")).to_be_hidden()
    expect(section.get_by_role("radio", name=re.compile("with Alice Seller"))).to_be_checked()
    expect(section.get_by_label("Move it")).to_be_checked()
    new_time = section.get_by_label(re.compile("New time for the appointment now on"))
    expect(new_time).to_be_visible()
    value = new_time.locator("option").nth(3).get_attribute("value")
    new_time.select_option(value)
    shot(page, "10-screen-pop-move-appointment")
    page.get_by_role("button", name="Save outcome").click()

    page.wait_for_url("**/calls/live", timeout=15000)
    expect(page.get_by_role("status").first).to_contain_text("Appointment moved")
    shot(page, "11-after-move")

    with live_server.session() as session:
        moved = session.get(Appointment, appointment_id)
        assert moved.start_at.isoformat() == value.replace("Z", "+00:00")
        assert moved.start_at != old_start and moved.sequence == 1
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        assert call.outcome is Outcome.APPOINTMENT_CHANGE
        updates = session.scalars(
            select(OutboundEmail).where(OutboundEmail.kind == "appointment-update")
        ).all()
        assert sorted(e.to_email for e in updates) == [
            office.salesperson_email,
            "dana@buyer.example.com",
        ]
        event = Calendar.from_ical(updates[0].attachments[0]["content"]).walk("VEVENT")[0]
        assert str(event["uid"]) == f"appointment-{appointment_id}@switchboard"
        assert int(event["sequence"]) == 1

    # The appointment's own page shows the move in its history.
    page.goto(f"/appointments/{appointment_id}")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.get_by_text("moved")).to_be_visible()
    shot(page, "12-appointment-page")
