"""The account-management disposition creates jobs through the same capacity rule."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from models import AuditEntry, EtaOverride, Job, Role
from notifications.capacity import set_per_day
from notifications.jobs import create_job
from routing.desk.disposition import dispose_call
from routing.desk.errors import InvalidDisposition
from tests.factories import make_call, make_user
from tests.routing.desk.conftest import MONDAY_9AM

CALLER = {
    "caller_name": "Dana Buyer",
    "caller_phone": "(202) 555-0143",
    "caller_email": "dana@buyer.example.com",
}


@pytest.fixture
def fay(org):
    """Fay manages jobs; Tuesday 1 December already has its one delivery."""
    manager = make_user(org, role=Role.ACCOUNT_MANAGER, name="Fay", capacity=10)
    set_per_day(org, 1, actor="test")
    create_job(
        org,
        reference="TUE",
        customer={"name": "Eve", "email": "eve@example.com"},
        eta="2026-12-01",
        account_manager_email=manager.email,
        actor="test",
        now=MONDAY_9AM,
    )
    org.flush()
    return manager


def _dispose(org, alice, coordinator, settings, fay, **form):
    call = make_call(org, line=alice.lines[0], answered_by=coordinator)
    return dispose_call(
        org,
        call.id,
        {
            "outcome": "account_management",
            "account_manager_id": str(fay.id),
            "new_job_reference": "NEW-1",
            **CALLER,
            **form,
        },
        actor=coordinator,
        settings=settings,
        now=MONDAY_9AM,
    )


def test_new_job_on_a_full_day_is_refused_with_the_days_with_room(
    org, alice, coordinator, settings, fay
):
    with pytest.raises(InvalidDisposition) as caught:
        _dispose(org, alice, coordinator, settings, fay, new_job_eta="2026-12-01")
    errors = caught.value.errors
    assert "fully booked (1 of 1 deliveries)" in errors["new_job_eta"]
    # Hours are Monday to Friday: Wednesday, Thursday, Friday.
    assert errors["new_job_eta_alternatives"] == "2026-12-02 2026-12-03 2026-12-04"


def test_an_offered_day_keeps_the_typed_time(org, alice, coordinator, settings, fay):
    result = _dispose(
        org,
        alice,
        coordinator,
        settings,
        fay,
        new_job_eta="2026-12-01T15:00",
        new_job_eta_alternative="2026-12-03",
    )
    job = result.job
    assert job.eta_at is not None
    assert job.eta_at.isoformat() == "2026-12-03T20:00:00+00:00"  # 15:00 in New York


def test_choose_anyway_with_a_reason_creates_the_job_and_records_the_override(
    org, alice, coordinator, settings, fay
):
    result = _dispose(
        org,
        alice,
        coordinator,
        settings,
        fay,
        new_job_eta="2026-12-01",
        new_job_eta_override_reason="Promised by the salesperson",
    )
    job = org.scalar(select(Job).where(Job.reference == "NEW-1"))
    assert result.job.id == job.id and job.eta_date == date(2026, 12, 1)
    override = org.scalar(select(EtaOverride).where(EtaOverride.job_id == job.id))
    assert (override.booked, override.capacity) == (1, 1)
    assert override.actor == coordinator.email
    entry = org.scalar(select(AuditEntry).where(AuditEntry.action == "eta_override"))
    assert entry.details["reason"] == "Promised by the salesperson"
