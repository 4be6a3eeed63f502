"""The job service: creation, assignment, ETA changes and the emails they leave in the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, Customer, EmailStatus, JobStatus, OutboundEmail, Role
from notifications.jobs import (
    DuplicateJob,
    InvalidJob,
    InvalidTransition,
    JobSettings,
    UnknownAccountManager,
    account_managers_with_load,
    create_job,
    open_job_counts,
    update_job,
)
from tests.factories import make_user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SETTINGS = JobSettings(timezone="Europe/Berlin", settle_minutes=10, secret_key="s3cret")


def _emails(session, job, kind=None, status=None):
    query = select(OutboundEmail).where(OutboundEmail.job_id == job.id)
    if kind:
        query = query.where(OutboundEmail.kind == kind)
    if status:
        query = query.where(OutboundEmail.status == status)
    return session.scalars(query.order_by(OutboundEmail.id)).all()


def _manager(session, **fields):
    fields.setdefault("capacity", 5)
    return make_user(session, role=Role.ACCOUNT_MANAGER, **fields)


def _create(session, reference="4711", eta="2026-12-10", **kwargs):
    kwargs.setdefault("customer", {"name": "Dana Diaz", "email": "Dana@Example.com"})
    return create_job(
        session,
        reference=reference,
        eta=eta,
        actor="tester@example.com",
        settings=SETTINGS,
        now=NOW,
        **kwargs,
    )


def _mark_sent(session, email):
    email.status = EmailStatus.SENT
    email.sent_at = NOW
    session.flush()


def test_create_sends_assignment_to_manager_and_introduction_to_customer(db_session):
    carol = _manager(db_session, name="Carol King", email="carol@example.com", phone="+14155550100")
    job = _create(db_session, eta="2026-12-10T15:30", description="Two pallets of tiles")

    assert job.account_manager_id == carol.id
    assert job.eta_at == datetime(2026, 12, 10, 14, 30, tzinfo=UTC)  # 15:30 in Berlin
    [assignment] = _emails(db_session, job, "assignment")
    assert assignment.to_email == "carol@example.com"
    assert "4711" in assignment.subject
    [intro] = _emails(db_session, job, "introduction")
    assert intro.to_email == "dana@example.com"
    assert intro.from_name == "Carol King"
    assert intro.reply_to == "carol@example.com"
    assert "4711" in intro.subject
    for body in (intro.text_body, intro.html_body):
        assert "Thursday 10 December 2026 at 15:30 CET" in body
        assert "carol@example.com" in body
        assert "+1 415-555-0100" in body
        assert "If the ETA changes, I will email you" in body
    assert intro.next_attempt_at == NOW
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == job.id)
    ).all()
    assert {"created", "assigned"} <= set(actions)


def test_customer_is_matched_by_email_case_insensitively(db_session):
    _manager(db_session)
    first = _create(db_session, reference="A-1")
    second = _create(
        db_session, reference="A-2", customer={"name": "D. Diaz", "email": "dana@example.COM"}
    )
    assert first.customer_id == second.customer_id
    assert db_session.scalar(select(Customer.name).where(Customer.id == first.customer_id)) == (
        "Dana Diaz"
    )


def test_least_loaded_manager_with_spare_capacity_gets_the_job(db_session):
    busy = _manager(db_session, capacity=5)
    idle = _manager(db_session, capacity=5)
    full = _manager(db_session, capacity=0)
    _create(db_session, reference="J-1", account_manager_email=busy.email)
    job = _create(db_session, reference="J-2")
    assert job.account_manager_id == idle.id
    assert job.account_manager_id != full.id


def test_a_managers_load_counts_only_her_jobs_still_open(db_session):
    carol = _manager(db_session, name="Carol King", capacity=5)
    dave = _manager(db_session, name="Dave Hill", capacity=5)
    gone = _manager(db_session, name="Ed Gone", capacity=5)
    gone.active = False
    kept = _create(db_session, reference="J-1", account_manager_email=carol.email)
    started = _create(db_session, reference="J-2", account_manager_email=carol.email)
    done = _create(db_session, reference="J-3", account_manager_email=carol.email)
    dropped = _create(db_session, reference="J-4", account_manager_email=carol.email)
    for job, status in ((started, "in_progress"), (done, "delivered"), (dropped, "cancelled")):
        update_job(db_session, job, status=status, actor="x", settings=SETTINGS, now=NOW)
    assert kept.status is JobStatus.OPEN
    assert open_job_counts(db_session) == {carol.id: 2}
    assert open_job_counts(db_session, [dave.id]) == {}
    loads = [(user.name, load) for user, load in account_managers_with_load(db_session)]
    assert loads == [("Carol King", 2), ("Dave Hill", 0)]
    assert account_managers_with_load(db_session, [dave.id]) == [(dave, 0)]


def test_nobody_free_leaves_job_unassigned_and_alerts_admins(db_session):
    _manager(db_session, capacity=0)
    admin = make_user(db_session, role=Role.ADMIN, email="boss@example.com")
    job = _create(db_session)
    assert job.account_manager_id is None
    [alert] = _emails(db_session, job, "job-unassigned")
    assert alert.to_email == admin.email
    assert "4711" in alert.subject
    assert _emails(db_session, job, "introduction") == []


def test_later_assignment_introduces_the_manager(db_session):
    job = _create(db_session)
    carol = _manager(db_session, name="Carol King")
    update_job(
        db_session, job, account_manager_email=carol.email, actor="x", settings=SETTINGS, now=NOW
    )
    [intro] = _emails(db_session, job, "introduction")
    assert intro.from_name == "Carol King"
    assert _emails(db_session, job, "handover") == []


def test_duplicate_reference_and_bad_input_are_refused(db_session):
    _manager(db_session)
    job = _create(db_session)
    with pytest.raises(DuplicateJob) as dup:
        _create(db_session)
    assert dup.value.job.id == job.id
    with pytest.raises(InvalidJob) as bad_eta:
        _create(db_session, reference="X", eta="next tuesday")
    assert bad_eta.value.field == "eta"
    with pytest.raises(InvalidJob) as bad_email:
        _create(db_session, reference="Y", customer={"name": "N", "email": "not-an-email"})
    assert bad_email.value.field == "customer.email"
    with pytest.raises(UnknownAccountManager):
        _create(db_session, reference="Z", account_manager_email="ghost@example.com")


def test_three_eta_changes_in_the_window_become_one_email_with_the_final_eta(db_session):
    _manager(db_session)
    job = _create(db_session, eta="2026-12-10")
    _mark_sent(db_session, _emails(db_session, job, "introduction")[0])
    for minutes, (eta, reason) in enumerate(
        [("2026-12-11", "truck"), ("2026-12-14", "weather"), ("2026-12-15", "customs hold")]
    ):
        update_job(
            db_session,
            job,
            eta=eta,
            eta_reason=reason,
            actor="carol",
            settings=SETTINGS,
            now=NOW + timedelta(minutes=minutes * 3),
        )
    db_session.expire_all()
    [change] = _emails(db_session, job, "eta-change")
    assert change.status == EmailStatus.PENDING
    assert change.next_attempt_at == NOW + timedelta(minutes=6 + 10)
    assert "Was: Thursday 10 December 2026" in change.text_body
    assert "Now: Tuesday 15 December 2026" in change.text_body
    assert "Reason: customs hold" in change.text_body
    assert "Tuesday 15 December 2026" in change.subject
    assert len(job.eta_changes) == 3


def test_change_and_change_back_sends_nothing(db_session):
    _manager(db_session)
    job = _create(db_session, eta="2026-12-10")
    _mark_sent(db_session, _emails(db_session, job, "introduction")[0])
    update_job(db_session, job, eta="2026-12-12", actor="c", settings=SETTINGS, now=NOW)
    update_job(db_session, job, eta="2026-12-10", actor="c", settings=SETTINGS, now=NOW)
    db_session.expire_all()
    emails = _emails(db_session, job, "eta-change")
    assert [e.status for e in emails] == [EmailStatus.CANCELLED]
    assert job.eta_date == date(2026, 12, 10)


def test_change_after_the_change_email_left_tells_old_as_last_announced(db_session):
    _manager(db_session)
    job = _create(db_session, eta="2026-12-10")
    _mark_sent(db_session, _emails(db_session, job, "introduction")[0])
    update_job(db_session, job, eta="2026-12-12", actor="c", settings=SETTINGS, now=NOW)
    _mark_sent(db_session, _emails(db_session, job, "eta-change")[0])
    update_job(
        db_session, job, eta="2026-12-18", eta_reason="late", actor="c", settings=SETTINGS, now=NOW
    )
    db_session.expire_all()
    first, second = _emails(db_session, job, "eta-change")
    assert second.status == EmailStatus.PENDING
    assert "Was: Saturday 12 December 2026" in second.text_body
    assert "Now: Friday 18 December 2026" in second.text_body


def test_eta_change_before_the_introduction_left_rewrites_the_introduction(db_session):
    _manager(db_session)
    job = _create(db_session, eta="2026-12-10")
    update_job(db_session, job, eta="2026-12-11", actor="c", settings=SETTINGS, now=NOW)
    db_session.expire_all()
    [intro] = _emails(db_session, job, "introduction")
    assert "Friday 11 December 2026" in intro.text_body
    assert _emails(db_session, job, "eta-change") == []


def test_reassignment_sends_handover_to_customer_and_assignment_to_new_manager(db_session):
    carol = _manager(db_session, name="Carol King")
    erin = _manager(db_session, name="Erin Wu", email="erin@example.com")
    job = _create(db_session, account_manager_email=carol.email)
    update_job(
        db_session, job, account_manager_email=erin.email, actor="c", settings=SETTINGS, now=NOW
    )
    [handover] = _emails(db_session, job, "handover")
    assert handover.to_email == "dana@example.com"
    assert handover.from_name == "Erin Wu"
    assert handover.reply_to == "erin@example.com"
    assert "Erin Wu now manages your job 4711, taking over from Carol King" in handover.text_body
    assignments = _emails(db_session, job, "assignment")
    assert [a.to_email for a in assignments] == [carol.email, erin.email]


def test_delivered_sends_feedback_link_and_cancels_pending_promises(db_session):
    _manager(db_session)
    job = _create(db_session, eta="2026-12-10")
    _mark_sent(db_session, _emails(db_session, job, "introduction")[0])
    update_job(db_session, job, eta="2026-12-12", actor="c", settings=SETTINGS, now=NOW)
    update_job(db_session, job, status="delivered", actor="c", settings=SETTINGS, now=NOW)
    db_session.expire_all()
    assert job.status == JobStatus.DELIVERED
    assert [e.status for e in _emails(db_session, job, "eta-change")] == [EmailStatus.CANCELLED]
    assert _emails(db_session, job, "eta-passed", EmailStatus.PENDING) == []
    [delivered] = _emails(db_session, job, "delivered")
    assert "http://127.0.0.1:5000/feedback/" in delivered.text_body
    assert "?rating=5" in delivered.html_body
    with pytest.raises(InvalidTransition):
        update_job(db_session, job, status="open", actor="c", settings=SETTINGS, now=NOW)


def test_eta_passed_reminder_follows_the_eta(db_session):
    carol = _manager(db_session)
    job = _create(db_session, eta="2026-12-10")
    [passed] = _emails(db_session, job, "eta-passed", EmailStatus.PENDING)
    assert passed.to_email == carol.email
    # End of 10 December in Berlin.
    assert passed.next_attempt_at == datetime(2026, 12, 10, 23, 0, tzinfo=UTC)
    update_job(db_session, job, eta="2026-12-20", actor="c", settings=SETTINGS, now=NOW)
    db_session.expire_all()
    [pending] = _emails(db_session, job, "eta-passed", EmailStatus.PENDING)
    assert pending.next_attempt_at == datetime(2026, 12, 20, 23, 0, tzinfo=UTC)


def test_eta_at_risk_warns_one_business_day_before_skipping_weekends(db_session):
    from tests.factories import make_business_hours

    make_business_hours(db_session)  # Monday to Friday
    carol = _manager(db_session)
    # Monday 14 December at 10:00 Berlin: warned Friday 11 December at 10:00 Berlin.
    job = _create(db_session, eta="2026-12-14T10:00")
    [risk] = _emails(db_session, job, "eta-at-risk", EmailStatus.PENDING)
    assert risk.to_email == carol.email
    assert risk.next_attempt_at == datetime(2026, 12, 11, 9, 0, tzinfo=UTC)
    assert "Monday 14 December 2026 at 10:00 CET" in risk.subject
    update_job(db_session, job, status="delivered", actor="c", settings=SETTINGS, now=NOW)
    db_session.expire_all()
    assert _emails(db_session, job, "eta-at-risk", EmailStatus.PENDING) == []


def test_pending_eta_change_comes_from_the_new_manager_after_a_handover(db_session):
    carol = _manager(db_session, name="Carol King", email="carol@example.com")
    erin = _manager(db_session, name="Erin Wu", email="erin@example.com")
    job = _create(db_session, account_manager_email=carol.email)
    _mark_sent(db_session, _emails(db_session, job, "introduction")[0])
    update_job(
        db_session, job, eta="2026-12-12", eta_reason="rain", actor="c", settings=SETTINGS, now=NOW
    )
    update_job(
        db_session, job, account_manager_email=erin.email, actor="c", settings=SETTINGS, now=NOW
    )
    db_session.expire_all()
    [change] = _emails(db_session, job, "eta-change", EmailStatus.PENDING)
    assert (change.from_name, change.reply_to) == ("Erin Wu", "erin@example.com")
    assert "erin@example.com" in change.text_body
    assert "Reason: rain" in change.text_body
    assert "Was: Thursday 10 December 2026" in change.text_body
