"""The capacity service: which days have room, how a full day is refused or overridden."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import AuditEntry, EtaOverride, Holiday, Job, OutboundEmail
from notifications import capacity
from notifications.jobs import DayFull, create_job, update_job
from notifications.jobs.eta import Eta
from tests.factories import make_business_hours

BERLIN = ZoneInfo("Europe/Berlin")
THURSDAY = date(2026, 12, 10)


def _loads(db_session, start, days):
    return [
        (d.day.isoformat(), d.booked, d.capacity)
        for d in capacity.day_loads(db_session, start, days, BERLIN)
    ]


def test_unset_means_no_limit_on_any_day_even_with_hours(db_session):
    make_business_hours(db_session, opens=time(8), closes=time(17))
    assert [c for _, _, c in _loads(db_session, THURSDAY, 4)] == [None, None, None, None]


def test_per_day_applies_to_business_days_only_and_a_day_of_its_own_wins(db_session):
    make_business_hours(db_session, opens=time(8), closes=time(17))  # Monday to Friday
    db_session.add(Holiday(day=date(2026, 12, 15), name="Founders' day"))
    capacity.set_per_day(db_session, 4, actor="test")
    capacity.set_day(db_session, date(2026, 12, 12), 2, actor="test")  # a Saturday opened
    capacity.set_day(db_session, date(2026, 12, 11), 0, actor="test")  # a Friday closed
    assert [c for _, _, c in _loads(db_session, THURSDAY, 6)] == [4, 0, 2, 0, 4, 0]


def test_without_hours_every_day_but_holidays_takes_the_per_day_figure(db_session):
    db_session.add(Holiday(day=date(2026, 12, 25), name="Christmas"))
    capacity.set_per_day(db_session, 1, actor="test")
    assert [c for _, _, c in _loads(db_session, date(2026, 12, 24), 3)] == [1, 0, 1]


def test_clearing_a_day_gives_it_back_to_the_rules(db_session):
    capacity.set_per_day(db_session, 3, actor="test")
    capacity.set_day(db_session, THURSDAY, 0, actor="test")
    capacity.set_day(db_session, THURSDAY, None, actor="test")
    assert _loads(db_session, THURSDAY, 1) == [("2026-12-10", 0, 3)]


def test_bad_capacity_values_are_refused():
    for raw in ("-1", "1.5", "", "many", True, None, 10**9):
        with pytest.raises(capacity.InvalidCapacity):
            capacity.clean_jobs(raw, "jobs")
    assert capacity.clean_jobs(" 7 ", "jobs") == 7
    with pytest.raises(capacity.InvalidCapacity):
        capacity.clean_day("2026-02-30")


def _create(db_session, clock, job_settings, reference, eta, **kwargs):
    return create_job(
        db_session,
        reference=reference,
        customer={"name": "Dana", "email": "dana@example.com"},
        eta=eta,
        actor="cora@example.com",
        settings=job_settings,
        now=clock(),
        **kwargs,
    )


def test_full_day_refused_then_overridden_with_who_why_and_load(db_session, clock, job_settings):
    capacity.set_per_day(db_session, 1, actor="test")
    _create(db_session, clock, job_settings, "A", "2026-12-10")

    with pytest.raises(DayFull) as refused:
        _create(db_session, clock, job_settings, "B", "2026-12-10T10:00")
    assert refused.value.details() == {
        "eta": "2026-12-10T09:00:00+00:00",
        "booked": 1,
        "capacity": 1,
        "alternatives": ["2026-12-11", "2026-12-12", "2026-12-13"],
    }
    assert db_session.scalar(select(Job).where(Job.reference == "B")) is None

    job = _create(
        db_session, clock, job_settings, "B", "2026-12-10T10:00", eta_override_reason="VIP"
    )
    override = db_session.scalar(select(EtaOverride).where(EtaOverride.job_id == job.id))
    assert (override.day, override.booked, override.capacity) == (THURSDAY, 1, 1)
    assert (override.reason, override.actor, override.at) == ("VIP", "cora@example.com", clock())
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "eta_override"))
    assert entry.entity_id == job.id
    assert entry.details == {"date": "2026-12-10", "booked": 1, "capacity": 1, "reason": "VIP"}


def test_refused_eta_change_queues_no_email(db_session, clock, job_settings):
    capacity.set_per_day(db_session, 1, actor="test")
    _create(db_session, clock, job_settings, "A", "2026-12-10")
    job = _create(db_session, clock, job_settings, "B", "2026-12-11")
    emails = db_session.scalars(select(OutboundEmail.id)).all()
    with pytest.raises(DayFull):
        update_job(
            db_session,
            job,
            eta="2026-12-10",
            eta_reason="x",
            actor="t",
            settings=job_settings,
            now=clock(),
        )
    db_session.rollback()
    assert db_session.scalars(select(OutboundEmail.id)).all() == emails


def test_local_day_of_an_instant_is_the_organisations(db_session):
    late = Eta.from_iso("2026-12-10T23:30:00+00:00")
    assert capacity.local_day(late, BERLIN) == date(2026, 12, 11)
    assert capacity.local_day(late, ZoneInfo("America/New_York")) == THURSDAY


def test_no_alternatives_when_no_later_day_has_room(db_session, clock, job_settings):
    capacity.set_per_day(db_session, 0, actor="test")
    with pytest.raises(DayFull) as refused:
        _create(db_session, clock, job_settings, "A", "2026-12-10")
    assert refused.value.alternatives == []
    assert "no later day has room" in refused.value.message
