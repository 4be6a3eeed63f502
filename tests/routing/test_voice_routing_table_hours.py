"""The routing table answers "open now?" as the business calendar does, at any instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models import BusinessCalendar
from routing.voice.routing_table import RoutingTable


def _table(calendar: BusinessCalendar) -> RoutingTable:
    return RoutingTable(
        version="v",
        calendar=calendar,
        lines={},
        lines_by_id={},
        coordinators=(),
        coordinators_by_id={},
        enquiry_sla_minutes=15,
        ring_timeout_seconds=20,
        teleconference_numbers=frozenset(),
    )


def test_open_or_closed_as_the_calendar_says_across_a_clock_change_and_a_holiday():
    calendar = BusinessCalendar(
        ZoneInfo("America/New_York"),
        {weekday: (time(8, 30), time(17, 0)) for weekday in range(5)},
        frozenset({date(2026, 3, 9)}),  # a Monday off, the day after the clock change
    )
    table = _table(calendar)
    at = datetime(2026, 3, 5, 0, 7, tzinfo=UTC)
    answers = set()
    while at < datetime(2026, 3, 13, tzinfo=UTC):
        assert table.is_open(at) == calendar.is_open(at), at
        answers.add(table.is_open(at))
        at += timedelta(minutes=13)
    assert answers == {True, False}


def test_with_no_hours_configured_every_day_but_a_holiday_is_open():
    calendar = BusinessCalendar(ZoneInfo("America/New_York"), {}, frozenset({date(2026, 7, 3)}))
    table = _table(calendar)
    assert table.is_open(datetime(2026, 7, 2, 12, tzinfo=UTC))
    assert not table.is_open(datetime(2026, 7, 3, 12, tzinfo=UTC))
    # 03:59 UTC on the 4th is still the 3rd in New York.
    assert not table.is_open(datetime(2026, 7, 4, 3, 59, tzinfo=UTC))
    assert table.is_open(datetime(2026, 7, 4, 4, 0, tzinfo=UTC))
