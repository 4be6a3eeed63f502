"""Reports read settled days from the call roll-up: a change made after a day was rolled
up shows in the next report, whichever way it was made."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from models import (
    Call,
    CallDayChange,
    CallDayManagerStatus,
    CallResult,
    CallRolledDay,
    Customer,
    Job,
    User,
    utcnow,
)
from routing.reports.period import Filters, Granularity, Period
from routing.reports.service import build_report
from tests import reports_data
from tests.reports_data import FIRST, LAST, NOW, ZONE, utc
from tests.test_app import csrf_from, login

TZ = ZoneInfo(ZONE)


@pytest.fixture
def org(db_session):
    return reports_data.build(db_session)


def _report(db_session, granularity=Granularity.WEEK, **filters):
    period = Period.of_days(TZ, FIRST, LAST, granularity)
    report = build_report(db_session, period, NOW, Filters(**filters))
    db_session.commit()
    return report


def _call(db_session, sid: str) -> Call:
    return db_session.scalar(select(Call).where(Call.call_sid == sid))


def test_settled_days_are_rolled_up_and_the_last_one_read_live(db_session, org):
    _report(db_session)
    rolled = set(db_session.scalars(select(CallRolledDay.day)))
    # NOW is noon on 16 March: days up to the 14th have settled, the 15th is read live.
    assert rolled == {FIRST + timedelta(days=n) for n in range(13)}
    db_session.add(
        Call(
            call_sid="CA-late",
            line_id=org.alice_line,
            to_number="+15550000000",
            from_number="+12025550100",
            started_at=utc(2026, 3, 15, 18, 0),
            result=CallResult.VOICEMAIL.value,
        )
    )
    db_session.flush()
    assert _report(db_session).table("calls").rows[1][1:4] == [5, 2, 2]


def test_a_past_call_disposed_later_through_the_console_shows_at_once(client, db_session, org):
    before = _report(db_session)
    assert before.table("outcomes").rows[1] == ["week of 2026-03-09", 0, 0, 0, 0, 0, 1, 0, 1]
    assert before.table("lead_capture").rows[1] == ["week of 2026-03-09", 1, 0, 0, 1, 0.0]
    call = _call(db_session, "CA6")  # Frank's answered call of 10 March, not disposed
    cora = db_session.get(User, org.cora)
    login(client, cora.email)
    token = csrf_from(client.get(f"/calls/{call.id}").get_data(as_text=True))
    response = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": token,
            "outcome": "general_enquiry",
            "notes": "asked about delivery",
            "caller_name": "Frank Moe",
            "caller_phone": "202-555-0143",
            "caller_email": "frank@example.com",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db_session.expire_all()
    after = _report(db_session)
    # Disposed as a general enquiry, and Frank's details are complete now.
    assert after.table("outcomes").rows[1] == ["week of 2026-03-09", 0, 0, 0, 0, 1, 1, 0, 0]
    assert after.table("lead_capture").rows[1] == ["week of 2026-03-09", 1, 1, 0, 0, 100.0]


def test_a_caller_whose_details_become_complete_counts_as_captured(db_session, org):
    assert _report(db_session).table("lead_capture").rows[1][2] == 0
    frank = db_session.scalar(select(Customer).where(Customer.name == "Frank Moe"))
    frank.email = "frank@example.com"
    db_session.flush()
    assert _report(db_session).table("lead_capture").rows[1][2] == 1


def test_jobs_opened_later_than_recorded_remove_their_status_calls(db_session, org):
    assert [row[2] for row in _report(db_session).table("status_calls").rows] == [2, 0]
    for job in db_session.scalars(select(Job).where(Job.reference.in_(("J-OPEN", "J4")))):
        job.created_at = utc(2026, 3, 4)  # Dana's jobs, after her call of 2 March
    db_session.flush()
    assert [row[2] for row in _report(db_session).table("status_calls").rows] == [1, 0]


def test_calls_loaded_into_past_days_and_calls_deleted_show(db_session, org):
    assert _report(db_session).totals["calls"] == 8
    db_session.add(
        Call(
            call_sid="CA-history",
            line_id=org.ben_line,
            to_number="+15550000000",
            from_number="+12025550100",
            started_at=utc(2026, 3, 4, 15, 0),
            result=CallResult.ABANDONED.value,
        )
    )
    db_session.flush()
    report = _report(db_session)
    assert report.totals["calls"] == 9 and report.table("calls").rows[0][4] == 2
    db_session.execute(delete(Call).where(Call.call_sid.in_(("CA-history", "CA4"))))
    db_session.flush()
    report = _report(db_session)
    assert report.totals["calls"] == 7 and report.table("calls").rows[0][3] == 0


def test_the_change_log_is_emptied_by_the_refresh(db_session, org):
    _report(db_session)
    _call(db_session, "CA7").result = CallResult.NO_ANSWER.value
    db_session.flush()
    assert db_session.scalar(select(func.count()).select_from(CallDayChange)) == 1
    rows = _report(db_session, Granularity.DAY).table("calls").rows
    assert {row[0]: row[5] for row in rows}["2026-03-10"] == 1
    assert db_session.scalar(select(func.count()).select_from(CallDayChange)) == 0


def test_filtered_reports_read_the_roll_up_alike(db_session, org):
    by_line = _report(db_session, line_id=org.ben_line)
    assert [row[1] for row in by_line.table("calls").rows] == [1, 2]
    assert [row[0] for row in by_line.table("lines").rows] == ["Ben Ong"]
    by_coordinator = _report(db_session, coordinator_id=org.cora)
    assert [row[2] for row in by_coordinator.table("calls").rows] == [1, 2]


def test_status_calls_of_one_manager_follow_her_jobs_when_handed_over(db_session, org):
    def priya_status() -> list:
        report = _report(db_session, manager_id=org.priya)
        return [row[2] for row in report.table("status_calls").rows]

    assert priya_status() == [1, 0]  # Dana's call of 2 March, while Priya's J4 was open
    assert db_session.scalar(select(func.count()).select_from(CallDayManagerStatus)) > 0
    job = db_session.scalar(select(Job).where(Job.reference == "J4"))
    job.account_manager_id = org.bob
    db_session.flush()
    assert priya_status() == [0, 0]


def test_calls_of_the_last_day_change_without_logging_anything(db_session, org):
    """The call path updates calls that started moments ago: no trigger work for them."""
    started = utcnow() - timedelta(minutes=3)
    call = Call(
        call_sid="CA-now",
        line_id=org.alice_line,
        to_number="+15550000000",
        from_number="+12025550100",
        started_at=started,
    )
    db_session.add(call)
    db_session.flush()
    call.result = CallResult.ANSWERED.value
    call.answered_by_id = org.cora
    call.ring_seconds = 4
    db_session.flush()
    assert db_session.scalar(select(func.count()).select_from(CallDayChange)) == 0
    _call(db_session, "CA7").ring_seconds = 5  # 10 March: logged
    db_session.flush()
    assert db_session.scalar(select(func.count()).select_from(CallDayChange)) == 1
