"""A small organisation's fortnight, built so every report figure is known by hand.

New York time. The period 2026-03-02 .. 2026-03-15 has two ISO weeks; the first ends on
Sunday 8 March, when clocks go forward (EST -5 → EDT -4), so the week is 167 hours long
and a call at 04:30 UTC on 9 March is already Monday (00:30 EDT), while one at 03:30 UTC
is still Sunday 23:30 EDT.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from models import (
    Call,
    CallResult,
    EmailStatus,
    Enquiry,
    EnquiryKind,
    EnquiryStatus,
    EtaChange,
    FeedbackStage,
    Job,
    JobFeedback,
    JobStatus,
    OrgSettings,
    OutboundEmail,
    Outcome,
    Role,
    Task,
    TaskKind,
    TaskStatus,
)
from models.audit import record
from tests.factories import make_customer, make_salesperson, make_user

ZONE = "America/New_York"
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 15)
NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Org:
    """Ids of what the data set holds, for filters and assertions."""


def build(session: Session) -> Org:
    org = Org()
    session.add(OrgSettings(timezone=ZONE))
    alice = make_salesperson(session, name="Alice Smith")
    ben = make_salesperson(session, name="Ben Ong")
    cora = make_user(session, role=Role.COORDINATOR, name="Cora Diaz")
    dev = make_user(session, role=Role.COORDINATOR, name="Dev Rao")
    bob = make_user(session, role=Role.ACCOUNT_MANAGER, name="Bob Jones", capacity=10)
    priya = make_user(session, role=Role.ACCOUNT_MANAGER, name="Priya Shah", capacity=10)
    org.alice_line, org.ben_line = alice.lines[0].id, ben.lines[0].id
    org.cora, org.dev, org.bob, org.priya = cora.id, dev.id, bob.id, priya.id

    dana = make_customer(session, name="Dana Diaz", email="dana@example.com")
    erin = make_customer(session, name="Erin Lee", email="erin@example.com")
    frank = make_customer(session, name="Frank Moe")
    frank.email = None
    session.flush()

    jobs = _jobs(session, org, dana, erin, bob, priya)
    _calls(session, org, alice.lines[0], ben.lines[0], cora, dev, dana, erin, frank)
    _emails(session, jobs)
    _enquiries(session, org, alice.lines[0], cora)
    _refunds(session, erin, bob, priya)
    _feedback(session, jobs, bob)
    session.commit()
    return org


def _job(session, reference, customer, manager, **fields) -> Job:
    job = Job(reference=reference, customer_id=customer.id, account_manager_id=manager.id, **fields)
    session.add(job)
    session.flush()
    return job


def _jobs(session, org, dana, erin, bob, priya) -> dict[str, Job]:
    jobs = {
        # Dana's job is open all fortnight: her calls are status calls.
        "open": _job(
            session, "J-OPEN", dana, bob, eta_date=date(2026, 3, 20), created_at=utc(2026, 2, 20)
        ),
        # Date-only ETA 4 March, delivered 23:30 EST that day: on time.
        "j1": _job(
            session,
            "J1",
            erin,
            bob,
            eta_date=date(2026, 3, 4),
            status=JobStatus.DELIVERED,
            delivered_at=utc(2026, 3, 5, 4, 30),
            created_at=utc(2026, 2, 1),
        ),
        # Same ETA, delivered five days late: late (the old report counted it on time).
        "j2": _job(
            session,
            "J2",
            erin,
            bob,
            eta_date=date(2026, 3, 4),
            status=JobStatus.DELIVERED,
            delivered_at=utc(2026, 3, 9, 15, 0),
            created_at=utc(2026, 2, 1),
        ),
        # First promised 5 March, moved to 12 March, delivered 10 March: late.
        "j3": _job(
            session,
            "J3",
            erin,
            bob,
            eta_date=date(2026, 3, 12),
            status=JobStatus.DELIVERED,
            delivered_at=utc(2026, 3, 10, 15, 0),
            created_at=utc(2026, 2, 1),
        ),
        # An instant ETA met by a minute.
        "j4": _job(
            session,
            "J4",
            dana,
            priya,
            eta_at=utc(2026, 3, 6, 17, 0),
            status=JobStatus.DELIVERED,
            delivered_at=utc(2026, 3, 6, 16, 59),
            created_at=utc(2026, 2, 1),
        ),
    }
    session.add(
        EtaChange(
            job_id=jobs["j3"].id,
            old_eta_date=date(2026, 3, 5),
            new_eta_date=date(2026, 3, 12),
            reason="supplier",
            changed_by="test",
            at=utc(2026, 3, 3, 12),
        )
    )
    for at in (utc(2026, 3, 3, 12), utc(2026, 3, 10, 12), utc(2026, 2, 25, 12)):
        record(
            session,
            actor="bob@example.com",
            entity_type="job",
            entity_id=jobs["j1"].id,
            action="eta_override",
            details={"date": "2026-03-04", "booked": 5, "capacity": 5, "reason": "VIP"},
        ).at = at
    session.flush()
    return jobs


def _call(session, sid, line, started, result, **fields) -> Call:
    call = Call(
        call_sid=sid,
        line_id=line.id if line else None,
        to_number=line.twilio_number if line else "+15550000000",
        from_number="+12025550100",
        started_at=started,
        result=result,
        **fields,
    )
    session.add(call)
    return call


def _calls(session, org, alice, ben, cora, dev, dana, erin, frank) -> None:
    answered = CallResult.ANSWERED.value
    # Week of 2 March.
    _call(  # 00:00 EST Monday: the first minute of the period; Dana has an open job
        session,
        "CA1",
        alice,
        utc(2026, 3, 2, 5, 0),
        answered,
        customer_id=dana.id,
        answered_by_id=cora.id,
        ring_seconds=6,
        outcome=Outcome.APPOINTMENT,
        disposed_by_id=cora.id,
    )
    _call(session, "CA0", alice, utc(2026, 3, 2, 4, 59), answered)  # Sunday 23:59: outside
    _call(  # Erin's jobs were all delivered or not yet open for this call? J1..J3 open: status
        session,
        "CA2",
        alice,
        utc(2026, 3, 3, 15, 0),
        answered,
        customer_id=erin.id,
        answered_by_id=dev.id,
        ring_seconds=10,
        caller_declined=True,
        outcome=Outcome.GENERAL_ENQUIRY,
        disposed_by_id=dev.id,
    )
    _call(session, "CA3", alice, utc(2026, 3, 9, 3, 30), CallResult.ABANDONED.value)  # Sun 23:30
    _call(session, "CA4", ben, utc(2026, 3, 5, 14, 0), CallResult.VOICEMAIL.value)
    _call(session, "CA-tc", None, utc(2026, 3, 5, 14, 0), CallResult.TELECONFERENCE.value)
    # Week of 9 March.
    _call(session, "CA5", alice, utc(2026, 3, 9, 4, 30), CallResult.VOICEMAIL.value)  # Mon 00:30
    _call(  # Frank gave no email: details missing
        session,
        "CA6",
        ben,
        utc(2026, 3, 10, 15, 0),
        answered,
        customer_id=frank.id,
        answered_by_id=cora.id,
        ring_seconds=20,
    )
    _call(  # wrong number: not a lead
        session,
        "CA7",
        ben,
        utc(2026, 3, 10, 16, 0),
        answered,
        answered_by_id=cora.id,
        ring_seconds=4,
        outcome=Outcome.WRONG_NUMBER,
        disposed_by_id=cora.id,
    )
    _call(  # Erin again, after all her jobs were delivered: not a status call
        session,
        "CA8",
        alice,
        utc(2026, 3, 11, 15, 0),
        CallResult.NO_ANSWER.value,
        customer_id=erin.id,
    )
    session.flush()


def _emails(session, jobs) -> None:
    def email(key, kind, status, sent_at, job):
        session.add(
            OutboundEmail(
                kind=kind,
                idempotency_key=key,
                to_email="x@example.com",
                subject="s",
                text_body="t",
                html_body="h",
                status=status,
                sent_at=sent_at,
                job_id=job.id,
                next_attempt_at=utc(2026, 3, 1),
            )
        )

    email("e1", "introduction", EmailStatus.SENT, utc(2026, 3, 3, 10), jobs["open"])
    email("e2", "eta-change", EmailStatus.SENT, utc(2026, 3, 10, 10), jobs["j3"])
    email("e3", "eta-change", EmailStatus.PENDING, None, jobs["j3"])
    email("e4", "delivered", EmailStatus.SENT, utc(2026, 3, 10, 10), jobs["j3"])
    session.flush()


def _enquiries(session, org, line, cora) -> None:
    resolved = Enquiry(
        line_id=line.id,
        kind=EnquiryKind.VOICEMAIL,
        status=EnquiryStatus.RESOLVED,
        sla_deadline=utc(2026, 3, 9, 4, 45),
        created_at=utc(2026, 3, 9, 4, 30),
        resolved_at=utc(2026, 3, 9, 4, 44),
        owner_id=cora.id,
    )
    late = Enquiry(
        line_id=line.id,
        kind=EnquiryKind.ABANDONED,
        status=EnquiryStatus.RESOLVED,
        sla_deadline=utc(2026, 3, 9, 3, 45),
        created_at=utc(2026, 3, 9, 3, 30),
        resolved_at=utc(2026, 3, 9, 5, 30),
    )
    still_open = Enquiry(
        line_id=line.id,
        kind=EnquiryKind.MISSED,
        status=EnquiryStatus.OPEN,
        sla_deadline=utc(2026, 3, 11, 15, 15),
        created_at=utc(2026, 3, 11, 15, 0),
    )
    session.add_all([resolved, late, still_open])
    session.flush()
    # Called back 10 minutes after the voicemail (resolved 14 minutes after).
    record(
        session,
        actor="cora",
        entity_type="enquiry",
        entity_id=resolved.id,
        action="callback_placed",
    ).at = utc(2026, 3, 9, 4, 40)


def _refunds(session, erin, bob, priya) -> None:
    for created, outcome, owner, reason in (
        (utc(2026, 3, 3, 15), "saved", bob, "too slow"),
        (utc(2026, 3, 4, 15), "lost", bob, "found cheaper"),
        (utc(2026, 3, 10, 15), None, priya, "damaged"),
    ):
        session.add(
            Task(
                kind=TaskKind.SAVE_THE_SALE,
                status=TaskStatus.DONE if outcome else TaskStatus.OPEN,
                assignee_id=owner.id,
                customer_id=erin.id,
                description=f"Save the sale: {reason}",
                outcome=outcome,
                outcome_notes="called" if outcome else None,
                created_at=created,
            )
        )
    session.flush()


def _feedback(session, jobs, bob) -> None:
    follow_up = Enquiry(
        kind=EnquiryKind.FEEDBACK,
        status=EnquiryStatus.CLAIMED,
        owner_id=bob.id,
        sla_deadline=utc(2026, 3, 5, 15),
        created_at=utc(2026, 3, 4, 15),
    )
    session.add(follow_up)
    session.flush()
    session.add_all(
        [
            JobFeedback(
                job_id=jobs["open"].id,
                stage=FeedbackStage.EARLY,
                rating=2,
                comment="No news",
                at=utc(2026, 3, 4, 15),
                enquiry_id=follow_up.id,
            ),
            JobFeedback(
                job_id=jobs["j1"].id, stage=FeedbackStage.EARLY, rating=5, at=utc(2026, 3, 3, 15)
            ),
            JobFeedback(
                job_id=jobs["j1"].id,
                stage=FeedbackStage.DELIVERED,
                rating=4,
                at=utc(2026, 3, 9, 4, 30),  # Monday 00:30 EDT: second week
            ),
        ]
    )
    session.flush()


__all__ = ["FIRST", "LAST", "NOW", "ZONE", "build", "timedelta"]
