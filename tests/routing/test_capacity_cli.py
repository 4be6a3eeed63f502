"""`switchboard capacity set|clear|show`: operators set daily delivery capacity."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from models import AuditEntry, DeliveryCapacity, DeliveryDay
from routing.cli import main


def _per_day(db_session):
    row = db_session.scalar(select(DeliveryCapacity))
    return row.per_day if row else None


def _days(db_session):
    return {d.day: d.jobs for d in db_session.scalars(select(DeliveryDay))}


def test_set_per_day_then_one_day_then_clear(runner, db_session):
    result = runner.invoke(main, ["capacity", "set", "--per-day", "12"])
    assert result.exit_code == 0, result.output
    assert "12 jobs per business day" in result.output
    assert _per_day(db_session) == 12

    result = runner.invoke(main, ["capacity", "set", "--date", "2026-12-24", "--jobs", "0"])
    assert result.exit_code == 0, result.output
    assert "no deliveries on Thursday 24 December 2026" in result.output
    assert _days(db_session) == {date(2026, 12, 24): 0}

    result = runner.invoke(main, ["capacity", "set", "--date", "2026-12-24", "--jobs", "3"])
    assert result.exit_code == 0, result.output
    assert _days(db_session) == {date(2026, 12, 24): 3}

    result = runner.invoke(main, ["capacity", "clear"])
    assert result.exit_code == 0, result.output
    assert "no limit" in result.output
    assert _per_day(db_session) is None
    assert _days(db_session) == {}
    actions = [e.action for e in db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["per_day_set", "day_set", "day_set", "cleared"]


def test_bad_values_exit_non_zero_and_change_nothing(runner, db_session):
    for args in (
        ["capacity", "set", "--per-day", "-1"],
        ["capacity", "set", "--per-day", "many"],
        ["capacity", "set", "--date", "2026-02-30", "--jobs", "3"],
        ["capacity", "set", "--date", "2026-12-24"],
        ["capacity", "set", "--jobs", "3"],
        ["capacity", "set", "--per-day", "3", "--date", "2026-12-24", "--jobs", "3"],
        ["capacity", "set"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code != 0, args
        assert "Error" in result.output, args
    assert _per_day(db_session) is None
    assert _days(db_session) == {}


def test_show_lists_the_coming_days(runner, db_session):
    runner.invoke(main, ["capacity", "set", "--per-day", "5"])
    result = runner.invoke(main, ["capacity", "show", "--days", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    assert all("booked" in line for line in lines)


def test_capacity_is_in_the_help(runner):
    result = runner.invoke(main, ["--help"])
    assert "capacity" in result.output
