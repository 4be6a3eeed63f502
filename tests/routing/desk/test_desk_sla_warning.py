"""Missed enquiries: a warning at 80 % of the SLA, before the breach, once per enquiry."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from models import EnquiryStatus, OutboundEmail, Role
from notifications.sla import run_sla_warning_check, warn_enquiries_nearing_sla
from notifications.worker import PERIODIC_JOBS
from tests.factories import make_customer, make_enquiry, make_user
from tests.routing.desk.conftest import MONDAY_9AM

ARRIVED = MONDAY_9AM
DEADLINE = ARRIVED + timedelta(minutes=60)  # 80 % is at 09:48


def _emails(session):
    return session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)).all()


def test_unclaimed_enquiry_warns_the_coordinator_team_at_80_percent_once(org, alice, coordinator):
    dev = make_user(org, role=Role.COORDINATOR, name="Dev", email="dev@acme.example.com")
    make_user(org, role=Role.COORDINATOR, name="Gone", active=False)
    make_user(org, role=Role.ACCOUNT_MANAGER, name="Fay")
    dana = make_customer(org, name="Dana Buyer")
    enquiry = make_enquiry(
        org, customer=dana, line=alice.lines[0], created_at=ARRIVED, sla_deadline=DEADLINE
    )
    org.commit()
    assert warn_enquiries_nearing_sla(org, now=ARRIVED + timedelta(minutes=47)) == 0
    assert _emails(org) == []
    assert warn_enquiries_nearing_sla(org, now=ARRIVED + timedelta(minutes=48)) == 1
    sent = _emails(org)
    assert sorted(e.to_email for e in sent) == sorted([coordinator.email, dev.email])
    assert all(e.kind == "sla-warning" for e in sent)
    assert sent[0].subject == "Missed enquiry due in 12 min: Dana Buyer"
    assert "nobody has claimed yet" in sent[0].text_body
    assert f"/enquiries/{enquiry.id}" in sent[0].text_body
    assert sent[0].next_attempt_at == ARRIVED + timedelta(minutes=48)  # due at the worker's now
    # A minute later, and again: nothing more.
    assert warn_enquiries_nearing_sla(org, now=ARRIVED + timedelta(minutes=49)) == 0
    assert len(_emails(org)) == 2


def test_claimed_enquiry_warns_only_its_owner(org, coordinator):
    owner = make_user(org, role=Role.COORDINATOR, name="Olga", email="olga@acme.example.com")
    make_enquiry(
        org,
        created_at=ARRIVED,
        sla_deadline=DEADLINE,
        owner_id=owner.id,
        status=EnquiryStatus.CLAIMED,
    )
    org.commit()
    assert warn_enquiries_nearing_sla(org, now=ARRIVED + timedelta(minutes=50)) == 1
    (email,) = _emails(org)
    assert email.to_email == "olga@acme.example.com"
    assert "you claimed" in email.text_body


def test_no_warning_after_the_deadline_or_once_resolved(org, coordinator):
    make_enquiry(org, created_at=ARRIVED, sla_deadline=DEADLINE)
    make_enquiry(org, created_at=ARRIVED, sla_deadline=DEADLINE, status=EnquiryStatus.RESOLVED)
    org.commit()
    # The worker was down through the whole window: the breach alert speaks instead.
    assert warn_enquiries_nearing_sla(org, now=DEADLINE + timedelta(minutes=1)) == 0
    assert _emails(org) == []


def test_worker_runs_the_warning_with_its_injected_clock(org, coordinator, connection):
    assert "notifications.sla:run_sla_warning_check" in {job.func for job in PERIODIC_JOBS}
    make_enquiry(org, created_at=ARRIVED, sla_deadline=DEADLINE)
    org.commit()
    clock = SimpleNamespace(now=ARRIVED + timedelta(minutes=30))
    runtime = SimpleNamespace(
        config=SimpleNamespace(PUBLIC_BASE_URL="https://sb.example.com", TIMEZONE="UTC"),
        db=SimpleNamespace(
            Session=sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        ),
        clock=lambda: clock.now,
    )
    assert run_sla_warning_check(runtime) == 0
    clock.now = ARRIVED + timedelta(minutes=55)
    assert run_sla_warning_check(runtime) == 1
    assert run_sla_warning_check(runtime) == 0
    (email,) = _emails(org)
    assert email.subject.startswith("Missed enquiry due in 5 min")
    assert "https://sb.example.com/enquiries/" in email.text_body
