"""The coordinator's two paths in a real browser: live call → disposition, missed enquiry."""

from __future__ import annotations

import re
import time

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from models import Appointment, Call, Customer, Enquiry, EnquiryStatus, OutboundEmail, Outcome
from tests.browser.conftest import log_in, press_one, ring, shot

pytestmark = pytest.mark.browser

CALLER = "+12025550143"


def test_live_call_to_screen_pop_to_appointment(page, live_server, office):
    log_in(page, office.coordinator_email)
    page.goto("/calls/live")
    expect(page.get_by_text("No calls right now")).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    sid = "CA" + "a" * 32
    ring(live_server, office, sid, CALLER)
    webhook_done = time.monotonic()
    row = page.locator("#live-calls tbody tr")
    expect(row).to_have_count(1, timeout=2000)  # within 2 s of the webhook, no reload
    assert time.monotonic() - webhook_done < 2.0
    expect(row).to_contain_text("ringing")
    expect(row).to_contain_text("Alice Seller")
    assert page.evaluate("window.__notReloaded") is True
    # Screen readers hear about it too.
    expect(page.locator("#live-announce")).to_have_text(
        "New call ringing from +1 202-555-0143 on Alice Seller"
    )
    shot(page, "01-live-calls-ringing")

    # Cora presses 1 after the whisper: the call is hers, and its screen-pop opens.
    press_one(live_server, office, sid)
    page.wait_for_url(re.compile(r"/calls/\d+$"), timeout=3000)
    expect(page.get_by_role("heading", name="New caller")).to_be_visible()
    expect(page.get_by_text("Alice Seller's line")).to_be_visible()
    expect(page.get_by_text("First call from this caller.")).to_be_visible()
    shot(page, "02-screen-pop")

    page.get_by_label("Appointment with the salesperson").check()
    expect(page.get_by_role("group", name="Teleconference")).to_be_hidden()
    page.get_by_label("Name", exact=True).fill("Dana Buyer")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("+12025550143")
    page.get_by_label("Email", exact=True).fill("dana@buyer.example.com")
    slot_select = page.get_by_label(re.compile("Free slot"))
    chosen = slot_select.locator("option").nth(1)
    slot_value = chosen.get_attribute("value")
    slot_select.select_option(slot_value)
    page.get_by_label("Place", exact=True).fill("Showroom")
    shot(page, "03-disposition-appointment")
    page.get_by_role("button", name="Save outcome").click()

    page.wait_for_url("**/calls/live")
    expect(page.get_by_role("status").first).to_contain_text("Appointment booked")
    expect(page.locator("#live-calls tbody tr").first).to_contain_text("appointment")
    shot(page, "04-live-calls-after-disposition")

    with live_server.session() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        assert call.outcome is Outcome.APPOINTMENT and call.disposed_by_id == office.coordinator_id
        appointment = session.scalar(select(Appointment))
        assert appointment.start_at.isoformat() == slot_value.replace("Z", "+00:00")
        assert appointment.place == "Showroom"
        customer = session.get(Customer, appointment.customer_id)
        assert customer.is_lead and customer.salesperson_id == office.salesperson_id
        invites = session.scalars(
            select(OutboundEmail).where(OutboundEmail.kind == "appointment-invite")
        ).all()
        assert sorted(e.to_email for e in invites) == [
            office.salesperson_email,
            "dana@buyer.example.com",
        ]
        event = Calendar.from_ical(invites[0].attachments[0]["content"]).walk("VEVENT")[0]
        assert event.decoded("dtstart") == appointment.start_at

    # The appointment is on Alice's calendar page.
    page.goto(f"/salespeople/{office.salesperson_id}/calendar?week={slot_value[:10]}")
    expect(page.locator(".appointment")).to_contain_text("Dana Buyer")
    shot(page, "05-salesperson-calendar")

    # The new lead is found by phone from the search box in the navigation (keyboard only).
    page.get_by_label("Search customers and jobs").fill("(202) 555-0143")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    dana = page.get_by_role("link", name="Dana Buyer")
    expect(dana).to_be_visible()
    shot(page, "05b-search")
    dana.click()
    expect(page.get_by_role("heading", name="Dana Buyer")).to_be_visible()
    expect(page.get_by_text("with Alice Seller · Showroom")).to_be_visible()
    shot(page, "05c-customer")

    # Twilio's final status callback ends the call on the live page.
    live_server.twilio(
        "/twilio/voice/status",
        {
            "CallSid": sid,
            "CallStatus": "completed",
            "CallDuration": "95",
            "SequenceNumber": "3",
            "From": CALLER,
            "To": office.twilio_number,
        },
    )
    page.goto("/calls/live")
    expect(page.locator("#live-calls tbody tr").first).to_contain_text("ended")


def test_missed_call_becomes_enquiry_then_claimed_and_resolved(page, live_server, office):
    sid = "CA" + "c" * 32
    ring(live_server, office, sid, CALLER)
    common = {"CallSid": sid, "From": CALLER, "To": office.twilio_number}
    live_server.twilio(
        "/twilio/voice/dial-complete?round=1",
        {**common, "CallStatus": "in-progress", "DialCallStatus": "no-answer"},
    )
    live_server.twilio(
        "/twilio/voice/recording",
        {
            **common,
            "CallStatus": "in-progress",
            "RecordingUrl": "https://api.twilio.com/rec/RE1",
            "RecordingDuration": "14",
            "RecordingSid": "RE" + "1" * 32,
        },
    )
    live_server.twilio(
        "/twilio/voice/status",
        {**common, "CallStatus": "completed", "CallDuration": "40", "SequenceNumber": "4"},
    )

    log_in(page, office.coordinator_email)
    page.goto("/enquiries")
    row = page.locator("#enquiries tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("voicemail")
    countdown = row.locator(".countdown")
    first = countdown.inner_text()
    assert re.fullmatch(r"1[45]:\d\d", first), first
    expect(countdown).not_to_have_text(first, timeout=2500)  # it counts down live
    shot(page, "06-missed-enquiries")

    row.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("status").first).to_contain_text("Enquiry claimed")
    expect(page.locator("#enquiries tbody tr")).to_contain_text("Cora Coordinator")

    page.locator("#enquiries tbody tr").get_by_role("link", name="Resolve").click()
    expect(page.get_by_role("heading", name=re.compile("Voicemail enquiry"))).to_be_visible()
    page.get_by_label("General enquiry").check()
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_label("Name", exact=True).fill("Dana Buyer")
    page.get_by_label("Notes", exact=True).fill("Wanted opening hours")
    page.get_by_role("button", name="Save outcome").click()
    expect(page.locator("#caller_email-error")).to_be_visible()
    shot(page, "07-enquiry-form-error")
    page.get_by_label("Email", exact=True).fill("dana@buyer.example.com")
    page.get_by_role("button", name="Save outcome").click()

    page.wait_for_url("**/enquiries")
    expect(page.get_by_role("status").first).to_contain_text("Enquiry resolved")
    expect(page.get_by_text("No missed enquiries")).to_be_visible()
    shot(page, "08-queue-empty")

    with live_server.session() as session:
        enquiry = session.scalar(select(Enquiry))
        assert enquiry.status is EnquiryStatus.RESOLVED
        assert enquiry.resolved_by_id == office.coordinator_id
        assert enquiry.outcome is Outcome.GENERAL_ENQUIRY
        assert session.get(Customer, enquiry.customer_id).email == "dana@buyer.example.com"
