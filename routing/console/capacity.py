"""The capacity view wherever an ETA is chosen: the coming days, and one day on request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import jsonify, request, url_for
from sqlalchemy.orm import Session

from models import Job
from notifications import capacity
from notifications.jobs import DayFull
from notifications.jobs.eta import Eta

from ..clock import request_now
from ..database import get_session
from ..security import login_required
from .helpers import zone
from .views import bp

STRIP_DAYS = 14


@dataclass
class CapacityView:
    """What the ETA pickers show: the coming days, and a refused day with its alternatives."""

    loads: list[capacity.DayLoad]
    source: str
    current_day: str = ""
    job_id: int | None = None
    # Set when the server refused a full day: its message, and the days with room.
    refused: bool = False
    message: str | None = None
    alternatives: list[date] = field(default_factory=list)

    @property
    def limited(self) -> bool:
        return any(load.capacity is not None for load in self.loads)


def capacity_view(
    session: Session,
    *,
    job: Job | None = None,
    full: DayFull | None = None,
    base: CapacityView | None = None,
) -> CapacityView:
    """The coming two weeks from today (local), for ``job``'s ETA change when given.

    ``base`` (a view without a job) saves reading the days again for each job of a list.
    """
    tz = zone()
    exclude = job.id if job is not None else None
    if base is not None:
        loads = list(base.loads)
    else:
        loads = capacity.day_loads(
            session, capacity.window_start(request_now(), tz), STRIP_DAYS, tz
        )
    if exclude is not None:
        # The job being moved does not count against the days it may move to.
        own = capacity.local_day(Eta.of_job(job), tz)
        loads = [
            capacity.DayLoad(load.day, load.booked - 1, load.capacity)
            if load.day == own and job.status.value in ("open", "in_progress")
            else load
            for load in loads
        ]
    return CapacityView(
        loads=loads,
        source=url_for("console.capacity_json"),
        current_day=capacity.local_day(Eta.of_job(job), tz).isoformat() if job else "",
        job_id=exclude,
        refused=full is not None,
        message=full.message if full else None,
        alternatives=full.alternatives if full else [],
    )


def chosen_date(form: Any, date_field: str, alternative_field: str) -> str:
    """The date the person chose: an offered alternative wins over the typed date."""
    alternative = (form.get(alternative_field) or "").strip()
    return alternative or (form.get(date_field) or "").strip()


@bp.get("/capacity.json")
@login_required()
def capacity_json():
    """One local day's load and, when it is full, the nearest later days with room."""
    session = get_session()
    tz = zone()
    try:
        day = capacity.clean_day(request.args.get("date", ""))
    except capacity.InvalidCapacity as exc:
        return jsonify(error=exc.message, details={"date": exc.message}), 400
    job_id = request.args.get("job", "")
    exclude = int(job_id) if job_id.isdigit() else None
    rules = capacity.CapacityRules.load(session, tz)
    counts = capacity.booked_by_day(session, day, day, tz, exclude_job_id=exclude)
    load = capacity.DayLoad(day, counts.get(day, 0), rules.capacity(day))
    alternatives: list[date] = []
    if not load.has_room:
        alternatives = capacity.days_with_room(
            session, day, tz, rules=rules, exclude_job_id=exclude, horizon=120
        )
    response = jsonify(
        day={**load.as_json(), "label": f"{day:%a} {day.day} {day:%b}"},
        alternatives=[
            {"date": d.isoformat(), "label": f"{d:%a} {d.day} {d:%b}"} for d in alternatives
        ],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def refused_alternatives(errors: dict[str, str], key: str) -> list[date]:
    """The days with room a form error carries (``key``: dates separated by spaces)."""
    days = []
    for raw in (errors.get(key) or "").split():
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            continue
    return days
