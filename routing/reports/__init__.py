"""Reports for managers: the figures that show the promise works, as charts, tables and CSV."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, current_app, render_template, request
from sqlalchemy import select

from models import BusinessCalendar, Line, Role, Salesperson, User

from ..clock import request_now
from ..database import get_session
from ..errors import ValidationFailed
from ..security import login_required
from .page import charts
from .period import Filters, Granularity, InvalidPeriod, Period
from .service import Report, build_report
from .tables import cell_text, to_csv

bp = Blueprint("reports", __name__, url_prefix="/reports")

DEFAULT_WEEKS = 12  # this week and the eleven before it: the trend, week by week
# Longer periods default to weekly buckets.
WEEKLY_FROM_DAYS = 42
SECTIONS = (
    "calls",
    "outcomes",
    "status_calls",
    "lead_capture",
    "enquiries",
    "refunds",
    "refund_requests",
    "eta_reliability",
    "feedback",
    "feedback_follow_ups",
    "lines",
    "coordinators",
)


def _parse_day(name: str, default: date) -> date:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"'{name}' must be a date like 2026-11-23", {name: raw}) from None


def _parse_id(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 2**31 - 1:
        raise ValidationFailed(f"'{name}' must be chosen from the list", {name: raw})
    return int(raw)


def _parse_granularity(first: date, last: date) -> Granularity:
    raw = (request.args.get("by") or "").strip()
    if not raw:
        weekly = (last - first).days + 1 >= WEEKLY_FROM_DAYS
        return Granularity.WEEK if weekly else Granularity.DAY
    try:
        return Granularity(raw)
    except ValueError:
        raise ValidationFailed("'by' must be day or week", {"by": raw}) from None


def _requested_report() -> Report:
    session = get_session()
    calendar = BusinessCalendar.load(session, current_app.config["TIMEZONE"])
    now = request_now()
    today = calendar.local(now).date()
    this_monday = today - timedelta(days=today.weekday())
    first = _parse_day("from", this_monday - timedelta(weeks=DEFAULT_WEEKS - 1))
    last = _parse_day("to", today)
    try:
        period = Period.of_days(calendar.timezone, first, last, _parse_granularity(first, last))
    except InvalidPeriod as exc:
        raise ValidationFailed(
            str(exc), {"from": first.isoformat(), "to": last.isoformat()}
        ) from None
    filters = Filters(
        line_id=_parse_id("line"),
        coordinator_id=_parse_id("coordinator"),
        manager_id=_parse_id("manager"),
    )
    report = build_report(session, period, now, filters)
    session.commit()  # the call roll-up brought up to date for the period
    return report


def _query_args(report: Report) -> dict[str, str]:
    return {
        "from": report.period.first.isoformat(),
        "to": report.period.last.isoformat(),
        "by": report.period.granularity.value,
        **report.filters.query_args(),
    }


def _choices() -> dict[str, list]:
    session = get_session()
    return {
        "lines": session.execute(
            select(Line.id, Salesperson.name, Line.public_number)
            .join(Salesperson, Salesperson.id == Line.salesperson_id)
            .order_by(Salesperson.name, Line.public_number)
        ).all(),
        "coordinators": session.execute(
            select(User.id, User.name)
            .where(User.role.in_((Role.COORDINATOR, Role.ADMIN)))
            .order_by(User.name)
        ).all(),
        "managers": session.execute(
            select(User.id, User.name).where(User.role == Role.ACCOUNT_MANAGER).order_by(User.name)
        ).all(),
    }


@bp.get("/")
@login_required(Role.ADMIN)
def index():
    """Charts with their tables for whole days in the organisation's zone, filtered."""
    report = _requested_report()
    return render_template(
        "reports/index.html",
        report=report,
        charts=charts(report),
        sections=SECTIONS,
        args=_query_args(report),
        choices=_choices(),
        timezone=report.period.timezone.key,
        cell=cell_text,
    )


@bp.get("/export.csv")
@login_required(Role.ADMIN)
def export_csv():
    """One table (``?table=calls``) or every table with a section column, as on the page."""
    report = _requested_report()
    key = (request.args.get("table") or "").strip()
    if key and key not in report.tables:
        raise ValidationFailed(
            "'table' must be one of the report's tables", {"table": key, "tables": SECTIONS}
        )
    tables = [report.tables[key]] if key else [report.tables[k] for k in SECTIONS]
    name = key or "all"
    filename = (
        f"switchboard-{name}-{report.period.first}-{report.period.last}-"
        f"{report.period.granularity.value}.csv"
    )
    return Response(
        to_csv(tables, _query_args(report)).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
