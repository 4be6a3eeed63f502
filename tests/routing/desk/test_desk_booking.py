"""Free slots, appointments that cannot be double-booked, teleconferences with PINs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from models import Appointment, AppointmentSlot, Holiday, OutboundEmail, Teleconference
from routing.desk.booking import (
    book_appointment,
    create_teleconference,
    free_slots,
)
from routing.desk.errors import InvalidDisposition, SlotTaken
from tests.factories import make_customer
from tests.routing.desk.conftest import MONDAY_9AM, ZONE


def _book(session, alice, customer, coordinator, start, minutes=30):
    return book_appointment(
        session,
        salesperson=alice,
        customer=customer,
        start=start,
        length_minutes=minutes,
        zone=ZONE,
        actor=coordinator,
        mail_from="Acme Sales <sales@acme.example.com>",
        place="Showroom",
        now=MONDAY_9AM,
    )


def test_free_slots_follow_business_hours_in_the_org_zone(org, alice):
    slots = free_slots(org, alice.id, zone=ZONE, now=MONDAY_9AM, days=1)
    local = [slot.start.astimezone(ZONE).strftime("%H:%M") for slot in slots]
    # 09:00 itself is "now"; the last 30-minute slot starts at 16:30 local.
    assert local[0] == "09:30" and local[-1] == "16:30"
    assert len(local) == 15
    assert all(slot.start.tzinfo is UTC or slot.start.utcoffset() == timedelta(0) for slot in slots)


def test_weekends_and_holidays_have_no_slots(org, alice):
    org.add(Holiday(day=datetime(2026, 11, 26).date(), name="Thanksgiving"))
    org.flush()
    slots = free_slots(org, alice.id, zone=ZONE, now=MONDAY_9AM, days=7)
    days = {slot.start.astimezone(ZONE).date().isoformat() for slot in slots}
    assert days == {"2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27"}


def test_booking_claims_every_slot_it_covers_and_removes_them_from_free_slots(
    org, alice, coordinator
):
    customer = make_customer(
        org, name="Dana Buyer", email="dana@buyer.example.com", salesperson=alice
    )
    start = MONDAY_9AM + timedelta(hours=2)  # 11:00 local
    appointment = _book(org, alice, customer, coordinator, start, minutes=60)
    claimed = org.scalars(
        select(AppointmentSlot.slot_start).where(AppointmentSlot.appointment_id == appointment.id)
    ).all()
    assert sorted(claimed) == [start, start + timedelta(minutes=30)]
    remaining = {s.start for s in free_slots(org, alice.id, zone=ZONE, now=MONDAY_9AM, days=1)}
    assert start not in remaining and start + timedelta(minutes=30) not in remaining
    # A 60-minute slot cannot start at 10:30 any more: it would overlap.
    long_slots = free_slots(org, alice.id, zone=ZONE, now=MONDAY_9AM, days=1, length_minutes=60)
    assert start - timedelta(minutes=30) not in {s.start for s in long_slots}


def test_taken_slot_is_refused_and_nothing_more_is_stored(org, alice, coordinator):
    customer = make_customer(org, salesperson=alice)
    start = MONDAY_9AM + timedelta(hours=1)
    _book(org, alice, customer, coordinator, start)
    with pytest.raises(SlotTaken, match="no longer free"):
        _book(org, alice, make_customer(org), coordinator, start)
    assert org.scalar(select(Appointment).where(Appointment.start_at == start)) is not None
    assert len(org.scalars(select(Appointment)).all()) == 1


def test_slot_outside_working_hours_or_in_the_past_is_refused(org, alice, coordinator):
    customer = make_customer(org)
    with pytest.raises(SlotTaken):
        _book(org, alice, customer, coordinator, MONDAY_9AM + timedelta(hours=9))  # 18:00
    with pytest.raises(SlotTaken):
        _book(org, alice, customer, coordinator, MONDAY_9AM - timedelta(days=1))


def test_appointment_invites_carry_an_ics_for_customer_and_salesperson(org, alice, coordinator):
    customer = make_customer(org, name="Dana Buyer", email="dana@buyer.example.com")
    start = MONDAY_9AM + timedelta(hours=5)  # 14:00 local
    appointment = _book(org, alice, customer, coordinator, start)
    emails = org.scalars(select(OutboundEmail).order_by(OutboundEmail.to_email)).all()
    assert [e.to_email for e in emails] == ["alice@acme.example.com", "dana@buyer.example.com"]
    for email in emails:
        assert email.kind == "appointment-invite"
        assert "Monday 23 November 2026, 14:00–14:30 (America/New_York)" in email.text_body
        (attachment,) = email.attachments
        assert attachment["content_type"] == "text/calendar; method=REQUEST"
        calendar = Calendar.from_ical(attachment["content"])
        assert str(calendar["method"]) == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert event.decoded("dtstart") == start
        assert event.decoded("dtend") == start + timedelta(minutes=30)
        assert str(event["uid"]) == f"appointment-{appointment.id}@switchboard"
        attendees = {str(a).lower() for a in event.get("attendee")}
        assert attendees == {"mailto:alice@acme.example.com", "mailto:dana@buyer.example.com"}
    customer_email = next(e for e in emails if e.to_email == "dana@buyer.example.com")
    assert customer_email.reply_to == "alice@acme.example.com"
    assert customer_email.from_name == "Alice Seller"
    assert "Showroom" in customer_email.text_body


def test_teleconference_gets_a_pin_the_dial_in_number_and_invites_for_all(org, alice, coordinator):
    customer = make_customer(org, name="Dana Buyer", email="dana@buyer.example.com")
    start = MONDAY_9AM + timedelta(days=1)
    conference = create_teleconference(
        org,
        title="Kitchen plans",
        start=start,
        length_minutes=45,
        participants=[
            ("Eve Architect", "eve@arch.example.com"),
            ("Dana again", "DANA@buyer.example.com"),
        ],
        zone=ZONE,
        actor=coordinator,
        mail_from="Acme Sales <sales@acme.example.com>",
        customer=customer,
        salesperson=alice,
        now=MONDAY_9AM,
    )
    assert conference.dial_in_number == "+16465550100"
    assert len(conference.pin) == 6 and conference.pin.isdigit()
    assert conference.end_at - conference.start_at == timedelta(minutes=45)
    assert sorted(p.email for p in conference.participants) == [
        "alice@acme.example.com",
        "dana@buyer.example.com",
        "eve@arch.example.com",
    ]
    emails = org.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "teleconference-invite")
    ).all()
    assert sorted(e.to_email for e in emails) == sorted(p.email for p in conference.participants)
    for email in emails:
        assert conference.pin in email.text_body
        assert "+1 646-555-0100" in email.text_body
        calendar = Calendar.from_ical(email.attachments[0]["content"])
        (event,) = calendar.walk("VEVENT")
        assert conference.pin in str(event["location"])


def test_teleconference_pins_are_unique_among_upcoming_conferences(
    org, alice, coordinator, monkeypatch
):
    customer = make_customer(org)
    org.add(
        Teleconference(
            title="Earlier",
            start_at=MONDAY_9AM + timedelta(hours=1),
            end_at=MONDAY_9AM + timedelta(hours=2),
            dial_in_number="+16465550100",
            pin="111111",
            room="earlier",
        )
    )
    org.flush()
    draws = iter([111111, 111111, 222222])
    monkeypatch.setattr("routing.desk.booking.secrets.randbelow", lambda _: next(draws))
    conference = create_teleconference(
        org,
        title="Next",
        start=MONDAY_9AM + timedelta(hours=3),
        length_minutes=30,
        participants=[],
        zone=ZONE,
        actor=coordinator,
        mail_from="sales@acme.example.com",
        customer=customer,
        salesperson=alice,
        now=MONDAY_9AM,
    )
    assert conference.pin == "222222"


def test_teleconference_without_dial_in_number_or_in_the_past_is_refused(
    db_session, alice, coordinator
):
    customer = make_customer(db_session)
    with pytest.raises(InvalidDisposition) as caught:
        create_teleconference(
            db_session,
            title="x",
            start=MONDAY_9AM - timedelta(hours=1),
            length_minutes=30,
            participants=[],
            zone=ZONE,
            actor=coordinator,
            mail_from="sales@acme.example.com",
            customer=customer,
            salesperson=alice,
            now=MONDAY_9AM,
        )
    assert "dial-in number" in caught.value.errors["conference_start"]
    assert db_session.scalars(select(Teleconference)).all() == []
    assert db_session.scalars(select(OutboundEmail)).all() == []
