"""Each salesperson's availability; moving and cancelling with updated invites; reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import (
    Appointment,
    AppointmentSlot,
    AuditEntry,
    BookingStatus,
    EmailStatus,
    OutboundEmail,
    SalespersonHours,
    Teleconference,
    TimeOff,
)
from routing.desk.booking import book_appointment, create_teleconference, free_slots
from routing.desk.changes import (
    BookingChanged,
    ChangeSettings,
    cancel_appointment,
    cancel_teleconference,
    move_appointment,
    move_teleconference,
)
from routing.desk.errors import SlotTaken
from tests.factories import make_customer
from tests.routing.desk.conftest import MONDAY_9AM, ZONE

CHANGE = ChangeSettings(zone=ZONE, mail_from="Acme Sales <sales@acme.example.com>")


def _local(slots, fmt="%a %H:%M"):
    return [slot.start.astimezone(ZONE).strftime(fmt) for slot in slots]


def _book(session, alice, customer, coordinator, start, minutes=30, now=MONDAY_9AM):
    return book_appointment(
        session,
        salesperson=alice,
        customer=customer,
        start=start,
        length_minutes=minutes,
        zone=ZONE,
        actor=coordinator,
        mail_from=CHANGE.mail_from,
        place="Showroom",
        now=now,
    )


def _ics(email: OutboundEmail):
    calendar = Calendar.from_ical(email.attachments[0]["content"])
    (event,) = calendar.walk("VEVENT")
    return calendar, event


# --- availability -------------------------------------------------------------------------


def test_her_own_hours_replace_the_teams_and_time_off_removes_whole_days(org, alice):
    alice.own_hours = True
    alice.hours.append(SalespersonHours(weekday=1, opens_at=time(13), closes_at=time(15)))
    alice.hours.append(SalespersonHours(weekday=3, opens_at=time(8), closes_at=time(9)))
    alice.time_off.append(
        TimeOff(first_day=date(2026, 12, 3), last_day=date(2026, 12, 3), note="Trade fair")
    )
    org.flush()
    slots = free_slots(org, alice.id, zone=ZONE, now=MONDAY_9AM, days=14)
    assert _local(slots, "%d %a %H:%M") == [
        "24 Tue 13:00", "24 Tue 13:30", "24 Tue 14:00", "24 Tue 14:30",
        "26 Thu 08:00", "26 Thu 08:30",
        "01 Tue 13:00", "01 Tue 13:30", "01 Tue 14:00", "01 Tue 14:30",
        # Thursday 3 December is her trade fair.
    ]  # fmt: skip


def test_slots_keep_her_local_hours_across_the_dst_change(db_session, alice):
    """Europe/Berlin leaves summer time on Sunday 25 October 2026."""
    berlin = ZoneInfo("Europe/Berlin")
    alice.own_hours = True
    for weekday in range(5):
        alice.hours.append(SalespersonHours(weekday=weekday, opens_at=time(9), closes_at=time(10)))
    db_session.flush()
    friday_before = datetime(2026, 10, 23, 5, 0, tzinfo=UTC)
    slots = free_slots(db_session, alice.id, zone=berlin, now=friday_before, days=4)
    local = [s.start.astimezone(berlin).strftime("%a %d %H:%M") for s in slots]
    assert local == ["Fri 23 09:00", "Fri 23 09:30", "Mon 26 09:00", "Mon 26 09:30"]
    utc = [s.start.strftime("%d %H:%M") for s in slots]
    assert utc == ["23 07:00", "23 07:30", "26 08:00", "26 08:30"]


# --- moving and cancelling ----------------------------------------------------------------


def test_moving_keeps_the_appointment_and_sends_an_update_with_a_higher_sequence(
    org, alice, coordinator
):
    customer = make_customer(org, email="dana@buyer.example.com", salesperson=alice)
    start = MONDAY_9AM + timedelta(hours=2)
    appointment = _book(org, alice, customer, coordinator, start, minutes=60)
    invites = org.scalars(select(OutboundEmail).where(OutboundEmail.kind == "appointment-invite"))
    _, first = _ics(next(iter(invites)))

    new_start = MONDAY_9AM + timedelta(days=1, hours=1)
    moved = move_appointment(
        org, appointment.id, start=new_start, actor=coordinator, settings=CHANGE, now=MONDAY_9AM
    )
    assert moved.id == appointment.id and moved.sequence == 1
    assert moved.start_at == new_start and moved.end_at == new_start + timedelta(hours=60 / 60)
    slots = org.scalars(
        select(AppointmentSlot.slot_start).where(AppointmentSlot.appointment_id == appointment.id)
    ).all()
    assert sorted(slots) == [new_start, new_start + timedelta(minutes=30)]
    assert start in {s.start for s in free_slots(org, alice.id, zone=ZONE, now=MONDAY_9AM)}

    updates = org.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "appointment-update")
    ).all()
    assert sorted(e.to_email for e in updates) == [alice.email, "dana@buyer.example.com"]
    for email in updates:
        calendar, event = _ics(email)
        assert str(calendar["method"]) == "REQUEST"
        assert str(event["uid"]) == str(first["uid"])
        assert int(event["sequence"]) > int(first["sequence"])
        assert event.decoded("dtstart") == new_start
        assert "Tuesday 24 November 2026, 10:00" in email.text_body  # the new time
        assert "Monday 23 November 2026, 11:00" in email.text_body  # and the old one
    assert org.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_id == appointment.id, AuditEntry.action == "moved"
        )
    )


def test_cancelling_sends_method_cancel_with_the_same_uid_and_frees_the_slots(
    org, alice, coordinator
):
    customer = make_customer(org, email="dana@buyer.example.com", salesperson=alice)
    start = MONDAY_9AM + timedelta(hours=2)
    appointment = _book(org, alice, customer, coordinator, start)
    move_appointment(
        org, appointment.id, start=start + timedelta(hours=1), actor=coordinator,
        settings=CHANGE, now=MONDAY_9AM,
    )  # fmt: skip
    cancelled = cancel_appointment(
        org, appointment.id, reason="Customer ill", actor=coordinator, settings=CHANGE,
        now=MONDAY_9AM,
    )  # fmt: skip
    assert cancelled.status is BookingStatus.CANCELLED and cancelled.sequence == 2
    assert not org.scalars(
        select(AppointmentSlot).where(AppointmentSlot.appointment_id == appointment.id)
    ).all()
    emails = org.scalars(
        select(OutboundEmail).where(
            OutboundEmail.idempotency_key.like(f"appointment-update:{appointment.id}:2:%")
        )
    ).all()
    assert sorted(e.to_email for e in emails) == [alice.email, "dana@buyer.example.com"]
    for email in emails:
        calendar, event = _ics(email)
        assert str(calendar["method"]) == "CANCEL"
        assert str(event["status"]) == "CANCELLED"
        assert str(event["uid"]) == f"appointment-{appointment.id}@switchboard"
        assert int(event["sequence"]) == 2
        assert "Customer ill" in email.text_body
        assert email.attachments[0]["content_type"] == "text/calendar; method=CANCEL"
    assert org.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_id == appointment.id, AuditEntry.action == "cancelled"
        )
    )
    with pytest.raises(BookingChanged, match="already cancelled"):
        move_appointment(
            org, appointment.id, start=start, actor=coordinator, settings=CHANGE, now=MONDAY_9AM
        )


def test_a_move_into_a_taken_slot_or_from_a_stale_page_is_refused(org, alice, coordinator):
    one = _book(org, alice, make_customer(org), coordinator, MONDAY_9AM + timedelta(hours=2))
    two = _book(org, alice, make_customer(org), coordinator, MONDAY_9AM + timedelta(hours=3))
    with pytest.raises(SlotTaken):
        move_appointment(
            org, two.id, start=one.start_at, actor=coordinator, settings=CHANGE, now=MONDAY_9AM
        )
    with pytest.raises(BookingChanged, match="since you opened"):
        move_appointment(
            org, two.id, start=MONDAY_9AM + timedelta(hours=4), actor=coordinator,
            settings=CHANGE, now=MONDAY_9AM, seen_sequence=5,
        )  # fmt: skip
    # Half an hour later overlaps where it is now: its own slots count as free.
    moved = move_appointment(
        org, two.id, start=two.start_at + timedelta(minutes=30), length_minutes=60,
        actor=coordinator, settings=CHANGE, now=MONDAY_9AM,
    )  # fmt: skip
    assert moved.end_at - moved.start_at == timedelta(hours=1)


# --- reminders ----------------------------------------------------------------------------


def _reminders(session, appointment):
    return session.scalars(
        select(OutboundEmail).where(
            OutboundEmail.kind == "appointment-reminder",
            OutboundEmail.idempotency_key.like(f"appointment-reminder:{appointment.id}:%"),
        )
    ).all()


def test_one_reminder_the_business_day_before_replaced_on_move_gone_on_cancel(
    org, alice, coordinator
):
    customer = make_customer(org, email="dana@buyer.example.com", salesperson=alice)
    monday_next = MONDAY_9AM + timedelta(days=7, hours=1)  # Monday 30 Nov, 10:00 local
    appointment = _book(org, alice, customer, coordinator, monday_next)
    (reminder,) = _reminders(org, appointment)
    # The business day before a Monday is the Friday, at 16:00 New York time.
    assert reminder.next_attempt_at == datetime(2026, 11, 27, 16, 0, tzinfo=ZONE)
    assert reminder.status is EmailStatus.PENDING and reminder.to_email == customer.email
    assert "/bookings/change/" in reminder.text_body and "Showroom" in reminder.text_body

    wednesday = MONDAY_9AM + timedelta(days=9, hours=2)  # Wednesday 2 Dec, 11:00
    move_appointment(
        org, appointment.id, start=wednesday, actor=coordinator, settings=CHANGE, now=MONDAY_9AM
    )
    (replaced,) = _reminders(org, appointment)
    org.refresh(replaced)
    assert replaced.id == reminder.id
    assert replaced.next_attempt_at == datetime(2026, 12, 1, 16, 0, tzinfo=ZONE)
    assert "Wednesday 02 December 2026, 11:00" in replaced.text_body

    cancel_appointment(
        org, appointment.id, reason=None, actor=coordinator, settings=CHANGE, now=MONDAY_9AM
    )
    (gone,) = _reminders(org, appointment)
    org.refresh(gone)
    assert gone.status is EmailStatus.CANCELLED


def test_no_reminder_when_its_time_has_passed_at_booking(org, alice, coordinator):
    customer = make_customer(org, salesperson=alice)
    # Booked on Monday at 17:00 for Tuesday: Monday 16:00 has passed, the invite is fresh.
    now = MONDAY_9AM + timedelta(hours=8)
    appointment = _book(org, alice, customer, coordinator, now + timedelta(hours=17), now=now)
    assert _reminders(org, appointment) == []


def test_a_new_reminder_after_a_move_when_the_first_one_was_already_sent(org, alice, coordinator):
    customer = make_customer(org, salesperson=alice)
    appointment = _book(org, alice, customer, coordinator, MONDAY_9AM + timedelta(days=1))
    (first,) = _reminders(org, appointment)
    first.status = EmailStatus.SENT
    org.flush()
    move_appointment(
        org, appointment.id, start=MONDAY_9AM + timedelta(days=3), actor=coordinator,
        settings=CHANGE, now=MONDAY_9AM,
    )  # fmt: skip
    reminders = _reminders(org, appointment)
    assert len(reminders) == 2
    pending = [r for r in reminders if r.status is EmailStatus.PENDING]
    assert len(pending) == 1 and pending[0].next_attempt_at == datetime(
        2026, 11, 25, 16, 0, tzinfo=ZONE
    )


# --- teleconferences ------------------------------------------------------------------------


def _conference(session, coordinator, alice, customer, start):
    return create_teleconference(
        session,
        title="Kitchen plans",
        start=start,
        length_minutes=30,
        participants=[("Eve Architect", "eve@arch.example.com")],
        zone=ZONE,
        actor=coordinator,
        mail_from=CHANGE.mail_from,
        customer=customer,
        salesperson=alice,
        now=MONDAY_9AM,
    )


def test_teleconferences_move_and_cancel_with_updates_and_their_pin_is_freed(
    org, alice, coordinator
):
    customer = make_customer(org, salesperson=alice)
    conference = _conference(org, coordinator, alice, customer, MONDAY_9AM + timedelta(days=2))
    assert conference.active_pin == conference.pin
    move_teleconference(
        org, conference.id, start=MONDAY_9AM + timedelta(days=3), actor=coordinator,
        settings=CHANGE, now=MONDAY_9AM,
    )  # fmt: skip
    updates = org.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "teleconference-update")
    ).all()
    assert len(updates) == 3
    for email in updates:
        _, event = _ics(email)
        assert str(event["uid"]) == f"teleconference-{conference.id}@switchboard"
        assert int(event["sequence"]) == 1
        assert conference.pin in email.text_body
    reminders = org.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "teleconference-reminder")
    ).all()
    assert len(reminders) == 1
    assert reminders[0].next_attempt_at == datetime(2026, 11, 25, 16, 0, tzinfo=ZONE)

    cancel_teleconference(
        org, conference.id, reason="Postponed", actor=coordinator, settings=CHANGE, now=MONDAY_9AM
    )
    assert conference.active_pin is None and conference.status is BookingStatus.CANCELLED
    org.refresh(reminders[0])
    assert reminders[0].status is EmailStatus.CANCELLED
    cancels = org.scalars(
        select(OutboundEmail).where(
            OutboundEmail.idempotency_key.like("teleconference-update:%:2:%")
        )
    ).all()
    assert {str(Calendar.from_ical(e.attachments[0]["content"])["method"]) for e in cancels} == {
        "CANCEL"
    }


def test_the_database_refuses_a_second_active_conference_with_the_same_pin(org):
    def conference(room: str, **fields):
        return Teleconference(
            title="x", start_at=MONDAY_9AM, end_at=MONDAY_9AM + timedelta(hours=1),
            dial_in_number="+16465550100", pin="123456", room=room, **fields,
        )  # fmt: skip

    org.add(conference("a"))
    org.flush()
    # Cancelled or over: no active PIN, so the same PIN may be used again.
    org.add(conference("b", active_pin=None, status=BookingStatus.CANCELLED))
    org.flush()
    with pytest.raises(IntegrityError), org.begin_nested():
        org.add(conference("c"))
        org.flush()
    assert len(org.scalars(select(Appointment)).all()) == 0


def test_a_conference_that_is_over_gives_its_pin_back(org, alice, coordinator, monkeypatch):
    customer = make_customer(org, salesperson=alice)
    earlier = _conference(org, coordinator, alice, customer, MONDAY_9AM + timedelta(hours=1))
    pin = earlier.pin
    draws = iter([int(pin), int(pin)])
    monkeypatch.setattr("routing.desk.booking.secrets.randbelow", lambda _: next(draws))
    later = create_teleconference(
        org,
        title="Follow-up",
        start=MONDAY_9AM + timedelta(days=1),
        length_minutes=30,
        participants=[("Eve Architect", "eve@arch.example.com")],
        zone=ZONE,
        actor=coordinator,
        mail_from=CHANGE.mail_from,
        customer=customer,
        now=earlier.end_at + timedelta(minutes=1),
    )
    org.refresh(earlier)
    assert later.active_pin == pin and earlier.active_pin is None
