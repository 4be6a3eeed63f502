"""The call log: every call with filters, and each call's status timeline."""

from __future__ import annotations

from flask import current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import Call, CallResult, Enquiry, Line, Outcome, Role, Task, User

from ..database import get_session
from ..desk.calllog import InvalidCallFilter, call_timeline, parse_call_filter, search_calls
from ..errors import NotFound
from ..security import login_required
from .helpers import zone
from .views import bp


def _choices(session):
    lines = session.scalars(
        select(Line).options(joinedload(Line.salesperson)).order_by(Line.public_number)
    ).all()
    coordinators = session.scalars(
        select(User).where(User.role.in_((Role.COORDINATOR, Role.ADMIN))).order_by(User.name)
    ).all()
    return {
        "lines": lines,
        "coordinators": coordinators,
        "outcomes": list(Outcome),
        "results": list(CallResult),
    }


@bp.get("/calls")
@login_required()
def call_log():
    """Every call, newest first: by line, caller, coordinator, outcome and local dates."""
    session = get_session()
    args = {k: request.args.get(k, "") for k in ("line", "caller", "coordinator", "outcome")}
    args |= {"from": request.args.get("from", ""), "to": request.args.get("to", "")}
    try:
        found = parse_call_filter(args)
        page = search_calls(
            session,
            found,
            zone=zone(),
            region=current_app.config.get("DEFAULT_REGION", "US"),
            cursor=request.args.get("cursor", ""),
        )
    except InvalidCallFilter as exc:
        return (
            render_template(
                "console/call_log.html",
                page=None,
                values=args,
                error=exc,
                next_args=None,
                **_choices(session),
            ),
            400,
        )
    next_args = {**found.query_args(), "cursor": page.next_cursor} if page.next_cursor else None
    return render_template(
        "console/call_log.html",
        page=page,
        values=args,
        error=None,
        next_args=next_args,
        first_page=not request.args.get("cursor"),
        reset_args=found.query_args(),
        **_choices(session),
    )


@bp.get("/calls/<int:call_id>/timeline")
@login_required()
def call_log_detail(call_id: int):
    """One call: who called which line, who was rung, who answered, transfers, durations."""
    session = get_session()
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("There is no such call.")
    enquiry = session.scalar(select(Enquiry).where(Enquiry.call_id == call.id))
    tasks = session.scalars(select(Task).where(Task.call_id == call.id).order_by(Task.id)).all()
    return render_template(
        "console/call_timeline.html",
        timeline=call_timeline(session, call),
        call=call,
        enquiry=enquiry,
        tasks=tasks,
    )
