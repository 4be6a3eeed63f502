"""Manager reports: figures over whole local days, role checks, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from models import (
    BusinessCalendar,
    Call,
    CallResult,
    Enquiry,
    EnquiryKind,
    EnquiryStatus,
    OrgSettings,
    Outcome,
    Role,
)
from routing.reports.service import InvalidPeriod, Period, build_report
from tests.factories import make_salesperson, make_user
from tests.test_app import login

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _call(session, sid, line, started, result, **fields):
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
    session.flush()
    return call


@pytest.fixture
def week_of_calls(db_session):
    """Calls in New York time around the edge of a report day."""
    db_session.add(OrgSettings(timezone="America/New_York"))
    alice = make_salesperson(db_session, name="Alice Smith")
    cora = make_user(db_session, role=Role.COORDINATOR, name="Cora")
    line = alice.lines[0]
    # 2026-11-20 local: 05:00 UTC is 00:00 EST, so 04:59 UTC still belongs to the 19th.
    day = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    _call(
        db_session,
        "CA1",
        line,
        day + timedelta(hours=4),
        CallResult.ANSWERED.value,
        answered_by_id=cora.id,
        ring_seconds=6,
        talk_seconds=120,
        outcome=Outcome.APPOINTMENT,
        disposed_by_id=cora.id,
    )
    _call(
        db_session,
        "CA2",
        line,
        day + timedelta(hours=5),
        CallResult.ANSWERED.value,
        answered_by_id=cora.id,
        ring_seconds=10,
        talk_seconds=60,
        caller_declined=True,
        outcome=Outcome.GENERAL_ENQUIRY,
        disposed_by_id=cora.id,
    )
    _call(
        db_session,
        "CA3",
        line,
        day + timedelta(hours=6),
        CallResult.ANSWERED.value,
        answered_by_id=cora.id,
        ring_seconds=8,
        talk_seconds=30,
    )
    missed = _call(db_session, "CA4", line, day + timedelta(hours=7), CallResult.VOICEMAIL.value)
    _call(
        db_session,
        "CA5",
        None,
        day + timedelta(hours=8),
        CallResult.ABANDONED.value,
        unknown_line=True,
    )
    _call(db_session, "CA-early", line, day - timedelta(minutes=1), CallResult.ANSWERED.value)
    db_session.add(
        Enquiry(
            call_id=missed.id,
            line_id=line.id,
            kind=EnquiryKind.VOICEMAIL,
            status=EnquiryStatus.OPEN,
            sla_deadline=NOW - timedelta(minutes=5),
            created_at=day + timedelta(hours=7),
        )
    )
    db_session.commit()
    return alice


def test_figures_cover_whole_local_days(db_session, week_of_calls):
    calendar = BusinessCalendar.load(db_session)
    day = datetime(2026, 11, 20).date()
    report = build_report(db_session, Period.of_days(calendar, day, day), NOW)
    assert report.calls == 5  # the call at 23:59 local on the 19th is not counted
    assert report.answered == 3
    assert report.voicemail == 1 and report.abandoned == 1 and report.unknown_line == 1
    assert report.avg_ring_seconds == 8 and report.avg_talk_seconds == 70
    assert report.outcomes["appointment"] == 1 and report.outcomes["general_enquiry"] == 1
    assert report.caller_declined == 1
    assert report.undisposed_answered == 1
    assert report.enquiries == 1 and report.enquiries_breached_now == 1
    assert [
        (line.salesperson, line.calls, line.answered, line.missed) for line in report.lines
    ] == [("Alice Smith", 4, 3, 1)]
    assert [(c.name, c.answered, c.disposed) for c in report.coordinators] == [("Cora", 3, 2)]


def test_period_must_be_ordered_and_bounded(db_session):
    calendar = BusinessCalendar.load(db_session)
    day = datetime(2026, 11, 20).date()
    with pytest.raises(InvalidPeriod):
        Period.of_days(calendar, day, day - timedelta(days=1))
    with pytest.raises(InvalidPeriod):
        Period.of_days(calendar, day - timedelta(days=400), day)


def test_admin_sees_report_page_and_csv(client, db_session, week_of_calls):
    admin = make_user(db_session, role=Role.ADMIN)
    db_session.commit()
    login(client, admin.email)
    page = client.get("/reports/?from=2026-11-20&to=2026-11-20")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-metric="calls">5<' in html
    assert "Alice Smith" in html
    export = client.get("/reports/export.csv?from=2026-11-20&to=2026-11-20")
    assert export.status_code == 200
    rows = dict(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows["answered"] == "3"
    assert rows["outcome:appointment"] == "1"


def test_coordinator_may_not_see_reports(client, db_session):
    coordinator = make_user(db_session, role=Role.COORDINATOR)
    db_session.commit()
    login(client, coordinator.email)
    assert client.get("/reports/").status_code == 403


def test_bad_date_is_a_clear_error(client, db_session):
    admin = make_user(db_session, role=Role.ADMIN)
    db_session.commit()
    login(client, admin.email)
    response = client.get("/reports/?from=yesterday")
    assert response.status_code == 422
    assert "must be a date" in response.get_data(as_text=True)
