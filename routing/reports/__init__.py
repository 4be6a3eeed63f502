"""Reports for managers: answered calls, outcomes, missed-enquiry SLAs, jobs and emails."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Blueprint, Response, current_app, render_template, request

from models import BusinessCalendar, Role, utcnow

from ..database import get_session
from ..errors import ValidationFailed
from ..security import login_required
from .service import InvalidPeriod, Period, Report, build_report

bp = Blueprint("reports", __name__, url_prefix="/reports")

DEFAULT_DAYS = 7


def _parse_day(name: str, default: date) -> date:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"'{name}' must be a date like 2026-11-23", {name: raw}) from None


def _requested_report() -> tuple[Report, BusinessCalendar]:
    session = get_session()
    calendar = BusinessCalendar.load(session, current_app.config["TIMEZONE"])
    now = utcnow()
    today = calendar.local(now).date()
    first = _parse_day("from", today - timedelta(days=DEFAULT_DAYS - 1))
    last = _parse_day("to", today)
    try:
        period = Period.of_days(calendar, first, last)
    except InvalidPeriod as exc:
        raise ValidationFailed(
            str(exc), {"from": first.isoformat(), "to": last.isoformat()}
        ) from None
    return build_report(session, period, now), calendar


@bp.get("/")
@login_required(Role.ADMIN)
def index():
    """The report page for a period of whole days in the organisation's time zone."""
    report, calendar = _requested_report()
    return render_template("reports/index.html", report=report, timezone=calendar.timezone.key)


@bp.get("/export.csv")
@login_required(Role.ADMIN)
def export_csv():
    """The same figures as CSV, one metric per row, for spreadsheets."""
    report, _calendar = _requested_report()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "value"])
    writer.writerow(["from", report.period.first.isoformat()])
    writer.writerow(["to", report.period.last.isoformat()])
    for name in (
        "calls",
        "answered",
        "voicemail",
        "abandoned",
        "no_answer",
        "fallback",
        "unknown_line",
        "avg_ring_seconds",
        "avg_talk_seconds",
        "caller_declined",
        "undisposed_answered",
        "new_leads",
        "enquiries",
        "enquiries_resolved",
        "enquiries_within_sla",
        "enquiries_open_now",
        "enquiries_breached_now",
        "jobs_created",
        "jobs_delivered",
        "jobs_delivered_late",
        "eta_changes",
        "emails_sent",
        "emails_failed",
        "emails_bounced",
    ):
        value = getattr(report, name)
        writer.writerow([name, "" if value is None else value])
    for outcome, count in report.outcomes.items():
        writer.writerow([f"outcome:{outcome}", count])
    filename = f"switchboard-report-{report.period.first}-{report.period.last}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
