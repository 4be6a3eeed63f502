"""Missed-enquiries queue, SLA breach alerts, live calls, screen-pop and search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import (
    CallStatus,
    Enquiry,
    EnquiryStatus,
    Job,
    OutboundEmail,
    Outcome,
    Role,
)
from notifications.sla import alert_breached_enquiries
from routing.desk.disposition import resolve_enquiry
from routing.desk.enquiries import claim_enquiry, enquiry_queue, release_enquiry
from routing.desk.errors import AlreadyDisposed, NotClaimable
from routing.desk.live import live_calls, screen_pop
from routing.desk.search import search
from tests.factories import make_call, make_customer, make_enquiry, make_user
from tests.routing.desk.conftest import MONDAY_9AM, ZONE


def test_queue_is_sorted_by_deadline_with_seconds_left(org, alice):
    late = make_enquiry(org, line=alice.lines[0], sla_deadline=MONDAY_9AM + timedelta(minutes=9))
    soon = make_enquiry(org, line=alice.lines[0], sla_deadline=MONDAY_9AM - timedelta(minutes=2))
    done = make_enquiry(org, status=EnquiryStatus.RESOLVED, sla_deadline=MONDAY_9AM)
    entries = enquiry_queue(org, now=MONDAY_9AM)
    assert [e.enquiry.id for e in entries] == [soon.id, late.id]
    assert entries[0].breached and entries[0].seconds_left == -120
    assert entries[1].seconds_left == 540
    assert done.id not in [e.enquiry.id for e in entries]


def test_claim_is_exclusive_and_release_returns_it(org, coordinator):
    enquiry = make_enquiry(org)
    other = make_user(org, name="Olga Other")
    claim_enquiry(org, enquiry.id, actor=coordinator, now=MONDAY_9AM)
    assert enquiry.status is EnquiryStatus.CLAIMED and enquiry.owner_id == coordinator.id
    with pytest.raises(NotClaimable, match="Cora Coordinator has already claimed"):
        claim_enquiry(org, enquiry.id, actor=other, now=MONDAY_9AM)
    with pytest.raises(NotClaimable):
        release_enquiry(org, enquiry.id, actor=other)
    release_enquiry(org, enquiry.id, actor=coordinator)
    claim_enquiry(org, enquiry.id, actor=other, now=MONDAY_9AM)
    assert enquiry.owner_id == other.id


def test_resolve_enquiry_with_a_disposition_closes_it_and_its_call(
    org, alice, coordinator, settings
):
    call = make_call(
        org,
        line=alice.lines[0],
        status=CallStatus.COMPLETED.value,
        result="voicemail",
        caller_number="+12025550143",
    )
    enquiry = make_enquiry(org, call=call)
    resolve_enquiry(
        org,
        enquiry.id,
        {
            "outcome": "general_enquiry",
            "notes": "Called back",
            "caller_name": "Dana",
            "caller_phone": "+12025550143",
            "caller_email": "dana@example.com",
        },
        actor=coordinator,
        settings=settings,
        now=MONDAY_9AM,
    )
    org.refresh(enquiry)
    assert enquiry.status is EnquiryStatus.RESOLVED and enquiry.outcome is Outcome.GENERAL_ENQUIRY
    assert enquiry.resolved_by_id == coordinator.id and enquiry.customer.name == "Dana"
    assert enquiry.customer.salesperson_id == alice.id and enquiry.customer.is_lead
    org.refresh(call)
    assert call.outcome is Outcome.GENERAL_ENQUIRY
    with pytest.raises(AlreadyDisposed, match="already closed by Cora"):
        resolve_enquiry(
            org,
            enquiry.id,
            {"outcome": "wrong_number"},
            actor=coordinator,
            settings=settings,
            now=MONDAY_9AM,
        )


def test_breached_enquiry_alerts_the_supervisor_once(org, alice):
    breached = make_enquiry(
        org, line=alice.lines[0], sla_deadline=MONDAY_9AM - timedelta(minutes=5)
    )
    make_enquiry(org, sla_deadline=MONDAY_9AM + timedelta(minutes=5))
    make_enquiry(org, status=EnquiryStatus.RESOLVED, sla_deadline=MONDAY_9AM - timedelta(hours=1))
    assert alert_breached_enquiries(org, now=MONDAY_9AM, console_url="https://sb.example.com") == 1
    assert alert_breached_enquiries(org, now=MONDAY_9AM + timedelta(minutes=1)) == 0
    (email,) = org.scalars(select(OutboundEmail)).all()
    assert email.kind == "sla-breach" and email.to_email == "boss@acme.example.com"
    assert "5 min overdue" in email.subject
    assert "Alice Seller's line" in email.text_body
    assert "https://sb.example.com/enquiries" in email.text_body
    assert org.get(Enquiry, breached.id).sla_breach_alerted_at == MONDAY_9AM


def test_without_supervisor_every_admin_is_alerted(db_session):
    make_user(db_session, role=Role.ADMIN, email="a1@example.com")
    make_user(db_session, role=Role.ADMIN, email="a2@example.com")
    make_user(db_session, role=Role.COORDINATOR, email="c@example.com")
    make_enquiry(db_session, sla_deadline=MONDAY_9AM - timedelta(minutes=1))
    alert_breached_enquiries(db_session, now=MONDAY_9AM)
    recipients = db_session.scalars(select(OutboundEmail.to_email)).all()
    assert sorted(recipients) == ["a1@example.com", "a2@example.com"]


def test_live_calls_show_states_and_pop_the_call_the_viewer_answered(org, alice, coordinator):
    dana = make_customer(org, name="Dana Buyer", company="Buyer Inc")
    ringing = make_call(org, line=alice.lines[0], status="in-progress", started_at=MONDAY_9AM)
    mine = make_call(
        org,
        line=alice.lines[0],
        customer=dana,
        answered_by=coordinator,
        started_at=MONDAY_9AM - timedelta(minutes=1),
    )
    ended = make_call(
        org,
        status="completed",
        result="abandoned",
        started_at=MONDAY_9AM - timedelta(minutes=3),
        ended_at=MONDAY_9AM - timedelta(minutes=2),
    )
    make_call(
        org,
        status="completed",
        started_at=MONDAY_9AM - timedelta(hours=2),
        ended_at=MONDAY_9AM - timedelta(hours=2),
    )
    data = live_calls(org, zone=ZONE, viewer_id=coordinator.id, now=MONDAY_9AM)
    states = {row["id"]: row["state"] for row in data["calls"]}
    assert states == {ringing.id: "ringing", mine.id: "in progress", ended.id: "ended"}
    assert data["pop_call_id"] == mine.id
    row = next(r for r in data["calls"] if r["id"] == mine.id)
    assert row["caller"] == "Dana Buyer" and row["line"] == "Alice Seller"
    assert row["answered_by"] == "Cora Coordinator" and row["started"] == "08:59:00"
    other = make_user(org)
    assert live_calls(org, zone=ZONE, viewer_id=other.id, now=MONDAY_9AM)["pop_call_id"] is None


def test_screen_pop_answers_whose_customer_and_what_is_going_on(org, alice, coordinator):
    bob = make_user(org, role=Role.ACCOUNT_MANAGER, name="Bob AM")
    dana = make_customer(org, name="Dana Buyer", salesperson=alice)
    org.add(
        Job(
            reference="ORD-5",
            customer_id=dana.id,
            account_manager_id=bob.id,
            eta_date=MONDAY_9AM.date(),
        )
    )
    earlier = make_call(
        org,
        line=alice.lines[0],
        customer=dana,
        status="completed",
        disposition_notes="Asked for brochure",
        started_at=MONDAY_9AM - timedelta(days=2),
    )
    make_enquiry(org, customer=dana, transcript="Please call me back about delivery")
    call = make_call(org, line=alice.lines[0], customer=dana, answered_by=coordinator)
    pop = screen_pop(org, call.id, now=MONDAY_9AM)
    assert pop.customer == dana and pop.line_salesperson == alice and pop.owner is None
    assert [job.reference for job in pop.open_jobs] == ["ORD-5"]
    assert pop.open_jobs[0].account_manager == bob
    assert pop.past_calls == [earlier]
    assert len(pop.open_enquiries) == 1
    assert {text for _, _, text in pop.notes} == {
        "Asked for brochure",
        "Please call me back about delivery",
    }


def test_search_finds_by_name_phone_email_company_and_job_reference(org):
    dana = make_customer(
        org,
        name="Dana Buyer",
        phone="+12025550143",
        email="dana@buyer.example.com",
        company="Kitchens Ltd",
    )
    make_customer(org, name="Someone Else")
    org.add(Job(reference="ORD-4711", customer_id=dana.id, eta_date=MONDAY_9AM.date()))
    org.flush()
    assert search(org, "dana").customers == [dana]
    assert search(org, "(202) 555-0143").customers == [dana]
    assert search(org, "5550143").customers == [dana]
    assert search(org, "DANA@BUYER").customers == [dana]
    assert search(org, "kitchens").customers == [dana]
    found = search(org, "4711")
    assert [job.reference for job in found.jobs] == ["ORD-4711"]
    assert search(org, "nobody-like-this").empty
    assert search(org, "%").empty


def test_worker_job_runs_the_sla_check_in_its_own_session(org, connection):
    from types import SimpleNamespace

    from sqlalchemy.orm import sessionmaker

    from notifications.sla import run_sla_check
    from notifications.worker import PERIODIC_JOBS

    assert "notifications.sla:run_sla_check" in {job.func for job in PERIODIC_JOBS}
    make_enquiry(org, sla_deadline=MONDAY_9AM - timedelta(minutes=30))
    org.commit()
    runtime = SimpleNamespace(
        config=SimpleNamespace(PUBLIC_BASE_URL="https://sb.example.com", TIMEZONE="UTC"),
        db=SimpleNamespace(
            Session=sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        ),
        clock=lambda: MONDAY_9AM,
    )
    assert run_sla_check(runtime) == 1
    assert run_sla_check(runtime) == 0
    (email,) = org.scalars(select(OutboundEmail)).all()
    assert "30 min overdue" in email.subject


def test_overview_counts_what_needs_attention(org, alice, coordinator):
    from routing.desk.overview import overview

    a_minute_ago = MONDAY_9AM - timedelta(minutes=1)
    make_call(org, line=alice.lines[0], answered_by=coordinator, started_at=a_minute_ago)
    make_call(
        org, line=alice.lines[0], status="completed", started_at=a_minute_ago, ended_at=MONDAY_9AM
    )
    # Yesterday's call still ringing in the table (a lost callback) is not live.
    make_call(org, line=alice.lines[0], started_at=MONDAY_9AM - timedelta(days=1))
    make_enquiry(org, sla_deadline=MONDAY_9AM - timedelta(minutes=1))
    make_enquiry(org, sla_deadline=MONDAY_9AM + timedelta(minutes=1))
    numbers = overview(org, coordinator, now=MONDAY_9AM)
    assert (numbers.active_calls, numbers.my_calls_to_close) == (1, 1)
    assert (numbers.open_enquiries, numbers.breached_enquiries) == (2, 1)
    assert numbers.my_open_tasks == 0
