"""The business calendar: opening hours, holidays, SLA deadlines across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from models import (
    BusinessCalendar,
    BusinessHours,
    Holiday,
    OrgSettings,
    User,
    bump_directory_version,
    directory_version,
)
from tests.factories import make_business_hours, make_salesperson, make_user

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def weekday_calendar(tz: ZoneInfo = LONDON, holidays: frozenset[date] = frozenset()):
    hours = {day: (time(8, 0), time(18, 0)) for day in range(5)}
    return BusinessCalendar(tz, hours, holidays)


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


def test_open_inside_hours_closed_outside_and_at_weekends():
    cal = weekday_calendar()
    assert cal.is_open(at(LONDON, 2026, 11, 23, 8, 0))  # Monday opening
    assert cal.is_open(at(LONDON, 2026, 11, 23, 17, 59))
    assert not cal.is_open(at(LONDON, 2026, 11, 23, 18, 0))
    assert not cal.is_open(at(LONDON, 2026, 11, 23, 7, 59))
    assert not cal.is_open(at(LONDON, 2026, 11, 21, 12, 0))  # Saturday


def test_hours_are_in_the_organisation_zone_not_utc():
    cal = weekday_calendar(NEW_YORK)
    # 13:30 UTC is 08:30 in New York in November (EST, UTC-5): open.
    assert cal.is_open(datetime(2026, 11, 23, 13, 30, tzinfo=UTC))
    # 12:30 UTC is 07:30 in New York: closed, although it is midday in UTC.
    assert not cal.is_open(datetime(2026, 11, 23, 12, 30, tzinfo=UTC))
    assert cal.local(datetime(2026, 11, 23, 13, 30, tzinfo=UTC)).hour == 8


def test_opening_hours_follow_the_wall_clock_across_dst_changes():
    cal = weekday_calendar(LONDON)
    # Friday 23 October 2026 is BST (UTC+1): 08:00 local is 07:00 UTC.
    assert cal.is_open(datetime(2026, 10, 23, 7, 0, tzinfo=UTC))
    # Monday 26 October 2026 is GMT (UTC+0) after the change: 07:00 UTC is 07:00 local.
    assert not cal.is_open(datetime(2026, 10, 26, 7, 0, tzinfo=UTC))
    assert cal.is_open(datetime(2026, 10, 26, 8, 0, tzinfo=UTC))


def test_holidays_are_closed_all_day():
    cal = weekday_calendar(holidays=frozenset({date(2026, 12, 25)}))
    assert not cal.is_open(at(LONDON, 2026, 12, 25, 12, 0))
    assert cal.is_open(at(LONDON, 2026, 12, 24, 12, 0))


def test_sla_from_friday_evening_lands_on_monday_morning():
    cal = weekday_calendar()
    deadline = cal.add_business_minutes(at(LONDON, 2026, 11, 20, 17, 55), 15)
    assert cal.local(deadline) == at(LONDON, 2026, 11, 23, 8, 10)


def test_sla_inside_open_hours_is_plain_minutes():
    cal = weekday_calendar()
    deadline = cal.add_business_minutes(at(LONDON, 2026, 11, 23, 10, 0), 15)
    assert deadline == at(LONDON, 2026, 11, 23, 10, 15)
    assert deadline.tzinfo is not None


def test_sla_across_a_dst_change_and_a_holiday():
    cal = weekday_calendar(LONDON, holidays=frozenset({date(2026, 10, 26)}))
    # Friday 17:50 BST, 15 minutes: 10 left on Friday, Monday is a holiday (and the
    # clocks went back on Sunday), so 5 minutes into Tuesday 08:00 GMT.
    deadline = cal.add_business_minutes(at(LONDON, 2026, 10, 23, 17, 50), 15)
    assert deadline == datetime(2026, 10, 27, 8, 5, tzinfo=UTC)


def test_sla_from_before_opening_starts_at_opening():
    cal = weekday_calendar(NEW_YORK)
    deadline = cal.add_business_minutes(at(NEW_YORK, 2026, 11, 2, 6, 0), 30)
    assert cal.local(deadline) == at(NEW_YORK, 2026, 11, 2, 8, 30)


def test_next_opening_and_previous_business_day():
    cal = weekday_calendar(holidays=frozenset({date(2026, 11, 23)}))
    opening = cal.next_opening(at(LONDON, 2026, 11, 20, 19, 0))
    assert cal.local(opening) == at(LONDON, 2026, 11, 24, 8, 0)  # Monday is a holiday
    now = at(LONDON, 2026, 11, 24, 9, 0)
    assert cal.next_opening(now) == now
    assert cal.previous_business_day(date(2026, 11, 24)) == date(2026, 11, 20)
    assert cal.previous_business_day(date(2026, 11, 25)) == date(2026, 11, 24)


def test_no_hours_configured_means_open_except_holidays():
    cal = BusinessCalendar(LONDON, {}, frozenset({date(2026, 12, 25)}))
    assert cal.is_open(at(LONDON, 2026, 11, 22, 3, 0))
    assert not cal.is_open(at(LONDON, 2026, 12, 25, 12, 0))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        weekday_calendar().is_open(datetime(2026, 11, 23, 12, 0))


def test_load_reads_zone_hours_and_holidays(db_session):
    db_session.add(OrgSettings(timezone="America/New_York"))
    make_business_hours(db_session, opens=time(9, 0), closes=time(17, 0))
    db_session.add(Holiday(day=date(2026, 11, 26), name="Thanksgiving"))
    db_session.commit()
    cal = BusinessCalendar.load(db_session, default_timezone="UTC")
    assert cal.timezone == NEW_YORK
    assert cal.hours[0] == (time(9, 0), time(17, 0))
    assert not cal.is_open(at(NEW_YORK, 2026, 11, 26, 12, 0))
    assert cal.is_open(at(NEW_YORK, 2026, 11, 25, 12, 0))


def test_load_falls_back_to_the_configured_zone(db_session):
    assert BusinessCalendar.load(db_session, default_timezone="Europe/Paris").timezone == (
        ZoneInfo("Europe/Paris")
    )


def test_directory_edits_change_the_version_automatically(db_session):
    before = directory_version(db_session)
    db_session.add(BusinessHours(weekday=6, opens_at=time(10), closes_at=time(12)))
    db_session.flush()
    after_hours = directory_version(db_session)
    assert after_hours != before

    coordinator = make_user(db_session)
    after_user = directory_version(db_session)
    assert after_user != after_hours

    coordinator.available = False
    db_session.flush()
    after_unavailable = directory_version(db_session)
    assert after_unavailable != after_user

    make_salesperson(db_session)
    assert directory_version(db_session) != after_unavailable


def test_logins_do_not_invalidate_the_directory(db_session):
    coordinator = make_user(db_session)
    version = directory_version(db_session)
    coordinator.last_login_at = datetime.now(UTC)
    db_session.flush()
    assert directory_version(db_session) == version


def test_bulk_updates_and_explicit_bumps_change_the_version(db_session):
    make_user(db_session)
    version = directory_version(db_session)
    db_session.execute(update(User).values(available=False))
    bulk = directory_version(db_session)
    assert bulk != version
    assert bump_directory_version(db_session) == directory_version(db_session) != bulk


def test_only_one_settings_row_is_created_by_bumps(db_session):
    bump_directory_version(db_session)
    bump_directory_version(db_session)
    assert len(db_session.query(OrgSettings).all()) == 1
