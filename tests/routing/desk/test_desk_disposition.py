"""One disposition per call: every outcome, caller details, leads, twice-disposed calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import (
    AuditEntry,
    Call,
    Customer,
    Job,
    JobStatus,
    OutboundEmail,
    Outcome,
    Role,
    Task,
    TaskKind,
    TaskStatus,
    Teleconference,
)
from routing.desk.disposition import close_task, dispose_call
from routing.desk.errors import AlreadyDisposed, InvalidDisposition, SlotTaken
from tests.factories import make_call, make_customer, make_user
from tests.routing.desk.conftest import MONDAY_9AM

CALLER = {
    "caller_name": "Dana Buyer",
    "caller_phone": "(202) 555-0143",
    "caller_email": "Dana@Buyer.example.com",
}


def _dispose(session, call, actor, settings, **form):
    return dispose_call(session, call.id, form, actor=actor, settings=settings, now=MONDAY_9AM)


@pytest.fixture
def answered(org, alice, coordinator):
    """An answered call from an unknown number on Alice's line."""
    return make_call(
        org, line=alice.lines[0], answered_by=coordinator, caller_number="+12025550143"
    )


def test_appointment_creates_lead_owned_by_line_salesperson_and_books_slot(
    org, alice, coordinator, settings, answered
):
    slot = (MONDAY_9AM + timedelta(hours=3)).isoformat()
    result = _dispose(
        org,
        answered,
        coordinator,
        settings,
        outcome="appointment",
        slot_start=slot,
        length_minutes="60",
        place="Showroom",
        **CALLER,
    )
    customer = org.get(Customer, result.customer.id)
    assert (customer.name, customer.phone, customer.email) == (
        "Dana Buyer",
        "+12025550143",
        "dana@buyer.example.com",
    )
    assert customer.is_lead and customer.salesperson_id == alice.id
    call = org.get(Call, answered.id)
    assert call.outcome is Outcome.APPOINTMENT
    assert call.disposed_by_id == coordinator.id and call.customer_id == customer.id
    assert call.disposition_details["appointment_id"] == result.appointment_id
    invites = org.scalars(
        select(OutboundEmail.to_email).where(OutboundEmail.kind == "appointment-invite")
    ).all()
    assert sorted(invites) == ["alice@acme.example.com", "dana@buyer.example.com"]
    audit = org.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "call", AuditEntry.action == "disposed")
    )
    assert audit.actor == coordinator.email and audit.details["outcome"] == "appointment"


def test_known_customer_is_reused_not_duplicated(org, alice, coordinator, settings):
    dana = make_customer(
        org, name="Dana B", phone="+12025550143", email="dana@buyer.example.com", salesperson=alice
    )
    call = make_call(org, line=alice.lines[0], customer=dana, answered_by=coordinator)
    _dispose(
        org,
        call,
        coordinator,
        settings,
        outcome="general_enquiry",
        notes="Asked about opening hours",
        **CALLER,
    )
    assert org.scalars(select(Customer)).all() == [dana]
    assert dana.name == "Dana Buyer" and not dana.is_lead


def test_invalid_phone_and_email_are_field_errors_and_nothing_is_saved(
    org, coordinator, settings, answered
):
    with pytest.raises(InvalidDisposition) as caught:
        _dispose(
            org,
            answered,
            coordinator,
            settings,
            outcome="general_enquiry",
            notes="x",
            caller_name="",
            caller_phone="12",
            caller_email="not-an-email",
        )
    assert set(caught.value.errors) == {"caller_name", "caller_phone", "caller_email"}
    assert org.get(Call, answered.id).disposed_at is None
    assert org.scalars(select(Customer)).all() == []


def test_caller_declined_is_recorded_instead_of_details(org, coordinator, settings, answered):
    _dispose(
        org,
        answered,
        coordinator,
        settings,
        outcome="general_enquiry",
        notes="Wanted a brochure",
        caller_declined="on",
    )
    call = org.get(Call, answered.id)
    assert call.caller_declined is True and call.outcome is Outcome.GENERAL_ENQUIRY
    assert call.customer_id is None


def test_wrong_number_needs_no_caller_details(org, coordinator, settings, answered):
    _dispose(org, answered, coordinator, settings, outcome="wrong_number")
    assert org.get(Call, answered.id).outcome is Outcome.WRONG_NUMBER
    assert org.scalars(select(Customer)).all() == []


def test_disposing_twice_is_refused_with_who_closed_it(org, coordinator, settings, answered):
    _dispose(org, answered, coordinator, settings, outcome="wrong_number")
    other = make_user(org, name="Olga Other")
    with pytest.raises(AlreadyDisposed, match="already closed by Cora Coordinator"):
        _dispose(org, answered, other, settings, outcome="general_enquiry", notes="x", **CALLER)
    call = org.get(Call, answered.id)
    assert call.outcome is Outcome.WRONG_NUMBER and call.disposed_by_id == coordinator.id


def test_unanswered_call_cannot_be_disposed_from_the_call(org, alice, coordinator, settings):
    call = make_call(org, line=alice.lines[0], status="completed", result="voicemail")
    with pytest.raises(AlreadyDisposed, match="missed-enquiries queue"):
        _dispose(org, call, coordinator, settings, outcome="wrong_number")


def test_appointment_in_a_taken_slot_is_refused_and_call_stays_open(
    org, alice, coordinator, settings, answered
):
    slot = (MONDAY_9AM + timedelta(hours=2)).isoformat()
    other_call = make_call(org, line=alice.lines[0], answered_by=coordinator)
    _dispose(
        org,
        other_call,
        coordinator,
        settings,
        outcome="appointment",
        slot_start=slot,
        caller_name="First",
        caller_phone="+12025550150",
        caller_email="first@x.example.com",
    )
    with pytest.raises(SlotTaken):
        _dispose(
            org, answered, coordinator, settings, outcome="appointment", slot_start=slot, **CALLER
        )
    org.rollback()


def test_teleconference_outcome_schedules_conference_with_participants(
    org, coordinator, settings, answered
):
    result = _dispose(
        org,
        answered,
        coordinator,
        settings,
        outcome="teleconference",
        conference_title="Plans",
        conference_start="2026-11-24T10:00",
        conference_minutes="30",
        participants="Eve Architect <eve@arch.example.com>\nfrank@site.example.com",
        **CALLER,
    )
    conference = org.get(Teleconference, result.teleconference_id)
    # 10:00 New York is 15:00 UTC.
    assert conference.start_at.isoformat() == "2026-11-24T15:00:00+00:00"
    assert {p.email for p in conference.participants} == {
        "dana@buyer.example.com",
        "alice@acme.example.com",
        "eve@arch.example.com",
        "frank@site.example.com",
    }


def test_teleconference_with_bad_participant_line_names_the_line(
    org, coordinator, settings, answered
):
    with pytest.raises(InvalidDisposition) as caught:
        _dispose(
            org,
            answered,
            coordinator,
            settings,
            outcome="teleconference",
            conference_start="2026-11-24T10:00",
            participants="Eve <eve@>",
            **CALLER,
        )
    assert caught.value.errors["participants"].startswith("Line 1:")


def test_account_management_least_loaded_creates_callback_task(
    org, coordinator, settings, answered
):
    busy = make_user(org, role=Role.ACCOUNT_MANAGER, name="Busy Bob", capacity=1)
    free = make_user(org, role=Role.ACCOUNT_MANAGER, name="Free Fay", capacity=5)
    someone = make_customer(org)
    org.add(
        Job(
            reference="J-1",
            customer_id=someone.id,
            account_manager_id=busy.id,
            eta_date=MONDAY_9AM.date(),
            status=JobStatus.OPEN,
        )
    )
    org.flush()
    result = _dispose(
        org,
        answered,
        coordinator,
        settings,
        outcome="account_management",
        account_manager_id="least_loaded",
        notes="Wants a quote",
        **CALLER,
    )
    assert result.account_manager == free and result.transfer_to is None
    task = org.get(Task, result.task.id)
    assert task.kind is TaskKind.CALLBACK and task.assignee_id == free.id
    assert "Dana Buyer" in task.description and "Wants a quote" in task.description


def test_account_management_with_transfer_asks_for_transfer_not_task(
    org, coordinator, settings, answered
):
    fay = make_user(org, role=Role.ACCOUNT_MANAGER, name="Fay", capacity=5, phone="+14155550199")
    result = _dispose(
        org,
        answered,
        coordinator,
        settings,
        outcome="account_management",
        account_manager_id=str(fay.id),
        transfer="on",
        **CALLER,
    )
    assert result.transfer_to == fay and result.task is None
    assert org.scalars(select(Task)).all() == []


def test_account_management_links_existing_job_of_the_customer(org, alice, coordinator, settings):
    fay = make_user(org, role=Role.ACCOUNT_MANAGER, name="Fay", capacity=5)
    dana = make_customer(org, phone="+12025550143", email="dana@buyer.example.com")
    job = Job(reference="ORD-9", customer_id=dana.id, eta_date=MONDAY_9AM.date())
    org.add(job)
    org.flush()
    call = make_call(org, line=alice.lines[0], customer=dana, answered_by=coordinator)
    result = _dispose(
        org,
        call,
        coordinator,
        settings,
        outcome="account_management",
        account_manager_id=str(fay.id),
        job_reference="ORD-9",
        **CALLER,
    )
    assert result.job == job and result.task.job_id == job.id
    with pytest.raises(InvalidDisposition) as caught:
        other = make_call(org, line=alice.lines[0], answered_by=coordinator)
        _dispose(
            org,
            other,
            coordinator,
            settings,
            outcome="account_management",
            account_manager_id=str(fay.id),
            job_reference="NOPE",
            caller_declined="on",
        )
    assert "no job" in caught.value.errors["job_reference"]


def test_account_management_can_create_a_job_through_the_jobs_service(
    org, coordinator, settings, answered
):
    fay = make_user(org, role=Role.ACCOUNT_MANAGER, name="Fay", capacity=5)
    result = _dispose(
        org,
        answered,
        coordinator,
        settings,
        outcome="account_management",
        account_manager_id=str(fay.id),
        new_job_reference="NEW-77",
        new_job_description="Kitchen",
        new_job_eta="2026-12-01",
        **CALLER,
    )
    job = org.scalar(select(Job).where(Job.reference == "NEW-77"))
    assert job is not None and result.job.id == job.id
    assert job.account_manager_id == fay.id and job.customer.email == "dana@buyer.example.com"


def test_refund_request_needs_a_reason(org, coordinator, settings, answered):
    with pytest.raises(InvalidDisposition) as caught:
        _dispose(org, answered, coordinator, settings, outcome="refund_request", **CALLER)
    assert "refund_reason" in caught.value.errors


def test_refund_request_escalates_and_creates_save_the_sale_task(org, alice, coordinator, settings):
    bob = make_user(
        org, role=Role.ACCOUNT_MANAGER, name="Bob AM", email="bob@acme.example.com", capacity=5
    )
    dana = make_customer(
        org,
        name="Dana Buyer",
        phone="+12025550143",
        email="dana@buyer.example.com",
        salesperson=alice,
    )
    org.add(
        Job(
            reference="ORD-1",
            customer_id=dana.id,
            account_manager_id=bob.id,
            eta_date=MONDAY_9AM.date(),
        )
    )
    org.flush()
    call = make_call(org, line=alice.lines[0], customer=dana, answered_by=coordinator)
    result = _dispose(
        org,
        call,
        coordinator,
        settings,
        outcome="refund_request",
        refund_reason="Delivery is too late",
        **CALLER,
    )
    task = org.get(Task, result.task.id)
    assert task.kind is TaskKind.SAVE_THE_SALE and task.assignee_id == bob.id
    emails = org.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "refund-escalation")
    ).all()
    assert sorted(e.to_email for e in emails) == ["alice@acme.example.com", "bob@acme.example.com"]
    for email in emails:
        assert "Delivery is too late" in email.text_body and "ORD-1" in email.subject
        assert f"/tasks/{task.id}" in email.text_body
    closed = close_task(
        org, task.id, outcome="saved", why="Offered faster shipping", actor=bob, now=MONDAY_9AM
    )
    assert closed.status is TaskStatus.DONE and closed.outcome == "saved"
    with pytest.raises(AlreadyDisposed):
        close_task(org, task.id, outcome="lost", why="x", actor=bob, now=MONDAY_9AM)


def test_save_the_sale_outcome_needs_saved_or_lost_and_why(org, coordinator, settings, answered):
    result = _dispose(
        org,
        answered,
        coordinator,
        settings,
        outcome="refund_request",
        refund_reason="Changed mind",
        **CALLER,
    )
    with pytest.raises(InvalidDisposition) as caught:
        close_task(org, result.task.id, outcome="maybe", why=" ", actor=coordinator, now=MONDAY_9AM)
    assert set(caught.value.errors) == {"outcome", "outcome_notes"}
    assert org.get(Task, result.task.id).status is TaskStatus.OPEN


def test_refund_from_a_caller_who_declined_and_is_unknown_is_refused(
    org, coordinator, settings, answered
):
    with pytest.raises(InvalidDisposition) as caught:
        _dispose(
            org,
            answered,
            coordinator,
            settings,
            outcome="refund_request",
            refund_reason="x",
            caller_declined="on",
        )
    assert "caller_declined" in caught.value.errors


def test_unknown_outcome_is_a_field_error(org, coordinator, settings, answered):
    with pytest.raises(InvalidDisposition) as caught:
        _dispose(org, answered, coordinator, settings, outcome="teleport")
    assert caught.value.errors == {"outcome": "Choose how the call ended."}
