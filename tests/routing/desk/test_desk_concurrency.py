"""Two coordinators submitting the same slot, or closing the same call, at the same moment.

These need real commits on PostgreSQL (row locks and unique indexes across two
connections): the ``pg_engine`` fixture gives them, and empties the tables afterwards.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import (
    Appointment,
    AppointmentSlot,
    AuditEntry,
    Call,
    Customer,
    Enquiry,
    OutboundEmail,
    Salesperson,
    User,
)
from routing.desk.booking import book_appointment
from routing.desk.disposition import DeskSettings, dispose_call
from routing.desk.errors import AlreadyDisposed, SlotTaken
from tests.factories import (
    make_business_hours,
    make_call,
    make_customer,
    make_salesperson,
    make_user,
)

pytestmark = pytest.mark.postgres
ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, before opening


@pytest.fixture
def world(pg_engine):
    with Session(pg_engine, expire_on_commit=False) as session:
        make_business_hours(session, opens=time(9), closes=time(17))
        alice = make_salesperson(session, name="Alice")
        coordinators = [make_user(session, name=f"Coordinator {n}") for n in (1, 2)]
        customers = [make_customer(session, salesperson=alice) for _ in range(2)]
        session.commit()
        return alice.id, [c.id for c in coordinators], [c.id for c in customers]


def _race(pg_engine, work):
    """Run ``work(session, n)`` in two threads that start their transactions together."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def runner(n: int) -> None:
        with Session(pg_engine) as session:
            session.execute(text("SELECT 1"))  # open the transaction before the barrier
            barrier.wait(timeout=10)
            try:
                work(session, n)
                session.commit()
                outcomes[n] = "ok"
            except (SlotTaken, AlreadyDisposed) as exc:
                session.rollback()
                outcomes[n] = exc

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_same_slot_submitted_by_two_coordinators_at_once_is_booked_once(pg_engine, world):
    alice_id, coordinator_ids, customer_ids = world
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def book(session: Session, n: int) -> None:
        book_appointment(
            session,
            salesperson=session.get(Salesperson, alice_id),
            customer=session.get(Customer, customer_ids[n]),
            start=start,
            length_minutes=60,
            zone=ZONE,
            actor=session.get(User, coordinator_ids[n]),
            mail_from="sales@example.com",
            now=NOW,
        )

    outcomes = _race(pg_engine, book)
    assert sorted(map(str, outcomes)).count("ok") == 1
    assert any(isinstance(o, SlotTaken) for o in outcomes)
    with Session(pg_engine) as session:
        appointments = session.scalars(select(Appointment)).all()
        assert len(appointments) == 1
        slots = session.scalars(select(AppointmentSlot.slot_start)).all()
        assert sorted(slots) == [start, start + timedelta(minutes=30)]
        # Only the winner's invites exist.
        assert session.scalar(select(OutboundEmail).limit(1)) is not None
        assert len(session.scalars(select(OutboundEmail)).all()) == 2


def test_overlapping_slots_of_different_lengths_conflict_too(pg_engine, world):
    alice_id, coordinator_ids, customer_ids = world
    starts = [
        datetime(2026, 11, 23, 13, 0, tzinfo=UTC),  # 13:00–14:00
        datetime(2026, 11, 23, 13, 30, tzinfo=UTC),  # 13:30–14:00
    ]

    def book(session: Session, n: int) -> None:
        book_appointment(
            session,
            salesperson=session.get(Salesperson, alice_id),
            customer=session.get(Customer, customer_ids[n]),
            start=starts[n],
            length_minutes=60 if n == 0 else 30,
            zone=ZONE,
            actor=session.get(User, coordinator_ids[n]),
            mail_from="sales@example.com",
            now=NOW,
        )

    outcomes = _race(pg_engine, book)
    assert [str(o) for o in outcomes].count("ok") == 1
    with Session(pg_engine) as session:
        assert len(session.scalars(select(Appointment)).all()) == 1


def test_two_coordinators_closing_the_same_call_only_one_wins(pg_engine, world):
    alice_id, coordinator_ids, _ = world
    with Session(pg_engine, expire_on_commit=False) as session:
        alice = session.get(Salesperson, alice_id)
        call = make_call(
            session, line=alice.lines[0], answered_by=session.get(User, coordinator_ids[0])
        )
        session.commit()
        call_id = call.id

    def close(session: Session, n: int) -> None:
        dispose_call(
            session,
            call_id,
            {"outcome": "wrong_number", "notes": f"closed by {n}"},
            actor=session.get(User, coordinator_ids[n]),
            settings=DeskSettings(zone=ZONE),
            now=NOW,
        )

    outcomes = _race(pg_engine, close)
    assert [str(o) for o in outcomes].count("ok") == 1
    loser = next(o for o in outcomes if isinstance(o, AlreadyDisposed))
    assert "just closed" in str(loser) or "already closed" in str(loser)
    with Session(pg_engine) as session:
        call = session.get(Call, call_id)
        winner = outcomes.index("ok")
        assert call.disposed_by_id == coordinator_ids[winner]
        assert call.disposition_notes == f"closed by {winner}"
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "disposed")).all()
        assert len(audits) == 1


def test_two_coordinators_claiming_the_same_enquiry_only_one_gets_it(pg_engine, world):
    from routing.desk.enquiries import claim_enquiry
    from routing.desk.errors import NotClaimable
    from tests.factories import make_enquiry

    _, coordinator_ids, _ = world
    with Session(pg_engine, expire_on_commit=False) as session:
        enquiry_id = make_enquiry(session).id
        session.commit()

    outcomes: list[object] = [None, None]
    barrier = threading.Barrier(2)

    def claim(n: int) -> None:
        with Session(pg_engine) as session:
            session.execute(text("SELECT 1"))
            barrier.wait(timeout=10)
            try:
                coordinator = session.get(User, coordinator_ids[n])
                claim_enquiry(session, enquiry_id, actor=coordinator, now=NOW)
                session.commit()
                outcomes[n] = "ok"
            except NotClaimable as exc:
                session.rollback()
                outcomes[n] = exc

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("ok") == 1
    winner = outcomes.index("ok")
    with Session(pg_engine) as session:
        assert session.get(Enquiry, enquiry_id).owner_id == coordinator_ids[winner]


def test_two_coordinators_moving_two_appointments_into_one_slot_only_one_wins(pg_engine, world):
    from routing.desk.changes import BookingChanged, ChangeSettings, move_appointment

    alice_id, coordinator_ids, customer_ids = world
    settings = ChangeSettings(zone=ZONE, mail_from="sales@example.com")
    with Session(pg_engine, expire_on_commit=False) as session:
        ids = []
        for n, hour in enumerate((10, 11)):
            ids.append(
                book_appointment(
                    session,
                    salesperson=session.get(Salesperson, alice_id),
                    customer=session.get(Customer, customer_ids[n]),
                    start=datetime(2026, 11, 23, hour, 0, tzinfo=UTC),
                    length_minutes=30,
                    zone=ZONE,
                    actor=session.get(User, coordinator_ids[n]),
                    mail_from="sales@example.com",
                    now=NOW,
                ).id
            )
        session.commit()
    target = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

    def move(session: Session, n: int) -> None:
        try:
            move_appointment(
                session,
                ids[n],
                start=target,
                actor=session.get(User, coordinator_ids[n]),
                settings=settings,
                now=NOW,
            )
        except BookingChanged as exc:  # pragma: no cover - would be a wrong outcome
            raise AssertionError(exc.message) from None

    outcomes = _race(pg_engine, move)
    assert [str(o) for o in outcomes].count("ok") == 1
    loser = next(o for o in outcomes if isinstance(o, SlotTaken))
    assert "just booked that slot" in str(loser) or "not free" in str(loser)
    winner = outcomes.index("ok")
    with Session(pg_engine) as session:
        moved = session.get(Appointment, ids[winner])
        stayed = session.get(Appointment, ids[1 - winner])
        assert moved.start_at == target and moved.sequence == 1
        assert stayed.start_at == datetime(2026, 11, 23, 10 + 1 - winner, 0, tzinfo=UTC)
        assert stayed.sequence == 0
        slots = session.scalars(
            select(AppointmentSlot.slot_start).where(AppointmentSlot.salesperson_id == alice_id)
        ).all()
        assert sorted(slots) == sorted([target, stayed.start_at])
        updates = session.scalars(
            select(OutboundEmail).where(OutboundEmail.kind == "appointment-update")
        ).all()
        assert len(updates) == 2  # the winner's customer and salesperson only


def test_the_same_appointment_moved_twice_at_once_moves_once(pg_engine, world):
    from routing.desk.changes import BookingChanged, ChangeSettings, move_appointment

    alice_id, coordinator_ids, customer_ids = world
    settings = ChangeSettings(zone=ZONE, mail_from="sales@example.com")
    with Session(pg_engine, expire_on_commit=False) as session:
        appointment_id = book_appointment(
            session,
            salesperson=session.get(Salesperson, alice_id),
            customer=session.get(Customer, customer_ids[0]),
            start=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
            length_minutes=30,
            zone=ZONE,
            actor=session.get(User, coordinator_ids[0]),
            mail_from="sales@example.com",
            now=NOW,
        ).id
        session.commit()
    targets = [datetime(2026, 11, 23, h, 0, tzinfo=UTC) for h in (13, 15)]
    outcomes: list[object] = [None, None]
    barrier = threading.Barrier(2)

    def run(n: int) -> None:
        with Session(pg_engine) as session:
            session.execute(text("SELECT 1"))
            barrier.wait(timeout=10)
            try:
                move_appointment(
                    session,
                    appointment_id,
                    start=targets[n],
                    actor=session.get(User, coordinator_ids[n]),
                    settings=settings,
                    now=NOW,
                    seen_sequence=0,
                )
                session.commit()
                outcomes[n] = "ok"
            except BookingChanged as exc:
                session.rollback()
                outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("ok") == 1
    winner = outcomes.index("ok")
    with Session(pg_engine) as session:
        appointment = session.get(Appointment, appointment_id)
        assert appointment.start_at == targets[winner] and appointment.sequence == 1
        slots = session.scalars(
            select(AppointmentSlot.slot_start).where(
                AppointmentSlot.appointment_id == appointment_id
            )
        ).all()
        assert slots == [targets[winner]]
