"""``switchboard capacity …``: how many open jobs may be due on one local business day."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from notifications import capacity
from notifications.jobs import JobSettings
from routing.clock import app_now
from routing.database import get_db


@click.group("capacity")
def capacity_group() -> None:
    """Daily delivery capacity: set it, clear it, see the coming days."""


def _jobs(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return capacity.clean_jobs(value, option)
    except capacity.InvalidCapacity as exc:
        raise click.BadParameter(exc.message, param_hint=option) from None


@capacity_group.command("set")
@click.option("--per-day", "per_day", metavar="N", help="Jobs per business day, every day.")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="One day with a capacity of its own.")
@click.option("--jobs", metavar="N", help="With --date: that day's capacity (0 = no deliveries).")
@with_appcontext
def set_command(per_day: str | None, day: str | None, jobs: str | None) -> None:
    """Set the capacity of every business day (--per-day N) or of one day (--date D --jobs N).

    Once a per-day capacity is set, days without business hours and holidays have no room
    unless given a capacity of their own with --date.
    """
    if per_day is None and day is None:
        raise click.UsageError("give --per-day N, or --date YYYY-MM-DD --jobs N")
    if per_day is not None and (day is not None or jobs is not None):
        raise click.UsageError("--per-day sets every day: give it alone, or --date with --jobs")
    if day is not None and jobs is None:
        raise click.UsageError("--date needs --jobs N (0 = no deliveries that day)")
    if jobs is not None and day is None:
        raise click.UsageError("--jobs needs --date YYYY-MM-DD")
    with get_db().session() as session:
        if per_day is not None:
            value = _jobs(per_day, "--per-day")
            capacity.set_per_day(session, value, actor="cli")
            click.echo(f"Capacity set: {value} job{'s' if value != 1 else ''} per business day.")
            return
        try:
            parsed = capacity.clean_day(day, "--date")
        except capacity.InvalidCapacity as exc:
            raise click.BadParameter(exc.message, param_hint="--date") from None
        value = _jobs(jobs, "--jobs")
        capacity.set_day(session, parsed, value, actor="cli")
        what = "no deliveries" if value == 0 else f"{value} job{'s' if value != 1 else ''}"
        click.echo(f"Capacity set: {what} on {parsed:%A %d %B %Y}.")


@capacity_group.command("clear")
@with_appcontext
def clear_command() -> None:
    """Remove every limit: any number of jobs may be due on any day."""
    with get_db().session() as session:
        capacity.clear_capacity(session, actor="cli")
    click.echo("Capacity cleared: no limit on any day.")


@capacity_group.command("show")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, capacity.MAX_DAYS))
@with_appcontext
def show_command(days: int) -> None:
    """The coming days: booked jobs against capacity."""
    config = current_app.config["SWITCHBOARD_CONFIG"]
    with get_db().session() as session:
        tz = JobSettings.from_config(config).zone(session)
        start = capacity.window_start(app_now(), tz)
        for load in capacity.day_loads(session, start, days, tz):
            limit = "no limit" if load.capacity is None else f"{load.booked}/{load.capacity}"
            full = "" if load.has_room else "  full"
            click.echo(f"{load.day:%a %Y-%m-%d}  {load.booked:>4} booked  {limit}{full}")
