"""Live calls, the call screen-pop and its disposition form."""

from __future__ import annotations

import logging

from flask import (
    flash,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from models import Call, Role, TaskKind

from ..clock import request_now
from ..database import get_session
from ..desk.disposition import call_state, create_callback_task, dispose_call, was_answered
from ..desk.errors import AlreadyDisposed, InvalidDisposition, SlotTaken
from ..desk.live import caller_label, calls_awaiting_outcome, live_calls, screen_pop
from ..errors import NotFound
from ..security import current_user, login_required
from ..telephony import TelephonyError, get_call_controller
from .forms import disposition_context
from .helpers import desk_settings, public_url, zone
from .views import bp

log = logging.getLogger(__name__)


@bp.get("/calls/live")
@login_required(Role.COORDINATOR)
def live():
    """Ringing, in-progress and just-ended calls; the page refreshes itself every second."""
    session = get_session()
    user = current_user()
    now = request_now()
    data = live_calls(session, zone=zone(), viewer_id=user.id, now=now)
    on_screen = {row["id"] for row in data["calls"]}
    awaiting = [
        c for c in calls_awaiting_outcome(session, user.id, now=now) if c.id not in on_screen
    ]
    return render_template(
        "console/live.html", data=data, awaiting=awaiting, caller_label=caller_label
    )


@bp.get("/calls/live.json")
@login_required(Role.COORDINATOR)
def live_json():
    """The live calls as JSON, polled by the live page; each call carries its row as the
    page renders it (``html``), so the page never rebuilds one itself."""
    data = live_calls(get_session(), zone=zone(), viewer_id=current_user().id, now=request_now())
    row = get_template_attribute("console/_live_call.html", "live_call_row")
    for call in data["calls"]:
        call["html"] = str(row(call))
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/calls/<int:call_id>/state.json")
@login_required(Role.COORDINATOR)
def call_state_json(call_id: int):
    """The call's state and outcome, polled by its screen-pop."""
    call = get_session().get(Call, call_id)
    if call is None:
        raise NotFound("There is no such call.")
    response = jsonify(state=call_state(call), outcome=call.outcome.value if call.outcome else None)
    response.headers["Cache-Control"] = "no-store"
    return response


def _render_call(call_id: int, *, form=None, errors=None, message=None, status=200):
    session = get_session()
    pop = screen_pop(session, call_id, now=request_now())
    if pop is None:
        raise NotFound("There is no such call.")
    call = pop.call
    context = disposition_context(
        customer=pop.customer,
        salesperson=pop.line_salesperson or pop.owner,
        caller_number=call.caller_number,
        form=form,
        errors=errors,
        live_call=call_state(call) == "in progress",
    )
    return (
        render_template(
            "console/call.html",
            pop=pop,
            state=call_state(call),
            can_dispose=call.disposed_at is None and was_answered(call),
            message=message,
            action=url_for("console.dispose", call_id=call.id),
            **context,
        ),
        status,
    )


@bp.get("/calls/<int:call_id>")
@login_required(Role.COORDINATOR)
def call_detail(call_id: int):
    """The screen-pop: who is calling, whose customer, what is going on; and the form."""
    return _render_call(call_id)


@bp.post("/calls/<int:call_id>/disposition")
@login_required(Role.COORDINATOR)
def dispose(call_id: int):
    """End the call with one outcome; bad input re-renders the form and saves nothing."""
    session = get_session()
    user = current_user()
    try:
        result = dispose_call(
            session,
            call_id,
            request.form,
            actor=user,
            settings=desk_settings(),
            now=request_now(),
        )
        session.commit()
    except InvalidDisposition as exc:
        session.rollback()
        return _render_call(call_id, form=request.form, errors=exc.errors, status=422)
    except SlotTaken as exc:
        session.rollback()
        return _render_call(
            call_id, form=request.form, errors={"slot_start": exc.message}, status=409
        )
    except AlreadyDisposed as exc:
        session.rollback()
        return _render_call(call_id, message=exc.message, status=409)

    if result.transfer_to is not None:
        _transfer(call_id, result)
    flash(_summary(result), "success")
    return redirect(url_for("console.live"))


def _transfer(call_id: int, result) -> None:
    """Put the live call through to the account manager; if Twilio fails, a callback task."""
    session = get_session()
    manager = result.transfer_to
    call = screen_pop(session, call_id, now=request_now()).call
    try:
        get_call_controller().redirect_call(
            call.call_sid,
            public_url(
                url_for(
                    "console_twiml.transfer_call",
                    call_id=call_id,
                    user_id=manager.id,
                    mode=result.transfer_mode,
                )
            ),
        )
    except TelephonyError as exc:
        log.warning("transfer of %s to %s failed: %s", call.call_sid, manager.email, exc)
        create_callback_task(
            session,
            assignee=manager,
            customer=result.customer,
            call_id=call_id,
            job=result.job,
            notes="the transfer failed",
            now=request_now(),
        )
        session.commit()
        flash(f"{exc.message} A callback task was created for {manager.name}.", "error")


def _summary(result) -> str:
    outcome = result.outcome.value.replace("_", " ")
    parts = [f"Call closed: {outcome}."]
    if result.appointment_id:
        parts.append("Appointment booked and invites queued.")
    if result.teleconference_id:
        parts.append("Teleconference scheduled and invites queued.")
    if result.details.get("change"):
        what = "Appointment" if "appointment_id" in result.details else "Teleconference"
        parts.append(f"{what} {result.details['change']}; updated invites queued.")
    if result.transfer_to is not None:
        how = "cold" if result.transfer_mode == "cold" else "warm"
        parts.append(f"Transferring the caller to {result.transfer_to.name} ({how}).")
    elif result.task is not None and result.task.kind is TaskKind.CALLBACK:
        parts.append(f"Callback task for {result.account_manager.name}.")
    elif result.task is not None:
        parts.append("Escalated; save-the-sale task created.")
    return " ".join(parts)
