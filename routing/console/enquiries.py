"""The missed-enquiries queue: claim, call back, resolve with a disposition."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from models import Enquiry, Role

from ..clock import request_now
from ..database import get_session
from ..desk.disposition import resolve_enquiry
from ..desk.enquiries import (
    claim_enquiry,
    enquiry_queue,
    place_callback,
    queue_summary,
    release_enquiry,
)
from ..desk.errors import AlreadyDisposed, InvalidDisposition, NotClaimable, SlotTaken
from ..desk.live import caller_label, screen_pop
from ..errors import NotFound
from ..security import current_user, local_path, login_required
from ..telephony import TelephonyError, get_call_controller
from .forms import disposition_context
from .helpers import desk_settings, public_url
from .views import bp

# The most urgent ones fit a screen; a longer queue is a staffing problem, not a list.
QUEUE_SHOWN = 100


@bp.get("/enquiries")
@login_required(Role.COORDINATOR)
def enquiries():
    """Open and claimed enquiries, most urgent first, each with its SLA countdown."""
    session, now = get_session(), request_now()
    entries = enquiry_queue(session, now=now, limit=QUEUE_SHOWN)
    summary = queue_summary(session, now=now, first=0)
    return render_template(
        "console/enquiries.html",
        entries=entries,
        total=summary.open,
        caller_label=caller_label,
    )


@bp.get("/enquiries/queue.json")
@login_required(Role.COORDINATOR)
def enquiries_json():
    """How many enquiries are waiting and how many have breached (for the nav badge)."""
    summary = queue_summary(get_session(), now=request_now(), first=QUEUE_SHOWN)
    return {"open": summary.open, "breached": summary.breached, "ids": summary.first_ids}


@bp.post("/enquiries/<int:enquiry_id>/claim")
@login_required(Role.COORDINATOR)
def claim(enquiry_id: int):
    """Take an enquiry: the others see it is yours."""
    session = get_session()
    try:
        claim_enquiry(session, enquiry_id, actor=current_user(), now=request_now())
        session.commit()
        flash("Enquiry claimed: it is yours now.", "success")
    except (NotClaimable, AlreadyDisposed) as exc:
        session.rollback()
        flash(exc.message, "error")
    return redirect(local_path(request.form.get("next")) or url_for("console.enquiries"))


@bp.post("/enquiries/<int:enquiry_id>/release")
@login_required(Role.COORDINATOR)
def release(enquiry_id: int):
    """Give a claimed enquiry back to the queue."""
    session = get_session()
    try:
        release_enquiry(session, enquiry_id, actor=current_user())
        session.commit()
        flash("Enquiry returned to the queue.", "success")
    except NotClaimable as exc:
        session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("console.enquiries"))


@bp.post("/enquiries/<int:enquiry_id>/call")
@login_required(Role.COORDINATOR)
def call_back(enquiry_id: int):
    """Click-to-call: Twilio rings your phone, then connects you to the customer."""
    session = get_session()
    user = current_user()
    try:
        place_callback(
            session,
            enquiry_id,
            actor=user,
            controller=get_call_controller(),
            twiml_url=public_url(url_for("console_twiml.callback", enquiry_id=enquiry_id)),
            now=request_now(),
        )
        session.commit()
        flash(f"Calling you on {user.phone} now; answer to be connected.", "success")
    except (NotClaimable, AlreadyDisposed, TelephonyError) as exc:
        session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("console.enquiry_detail", enquiry_id=enquiry_id))


def _render_enquiry(enquiry_id: int, *, form=None, errors=None, message=None, status=200):
    session = get_session()
    enquiry = session.get(Enquiry, enquiry_id)
    if enquiry is None:
        raise NotFound("There is no such enquiry.")
    salesperson = enquiry.line.salesperson if enquiry.line else None
    if salesperson is None and enquiry.customer is not None:
        salesperson = enquiry.customer.salesperson
    context = disposition_context(
        customer=enquiry.customer,
        salesperson=salesperson,
        caller_number=enquiry.caller_number,
        form=form,
        errors=errors,
    )
    return (
        render_template(
            "console/enquiry.html",
            enquiry=enquiry,
            caller=caller_label(enquiry.call, enquiry.customer)
            if enquiry.call
            else (enquiry.customer.name if enquiry.customer else enquiry.caller_number),
            message=message,
            pop=screen_pop(session, enquiry.call_id, now=request_now())
            if enquiry.call_id
            else None,
            action=url_for("console.resolve", enquiry_id=enquiry.id),
            **context,
        ),
        status,
    )


@bp.get("/enquiries/<int:enquiry_id>")
@login_required(Role.COORDINATOR)
def enquiry_detail(enquiry_id: int):
    """One enquiry: voicemail, transcript, and the form that resolves it."""
    return _render_enquiry(enquiry_id)


@bp.post("/enquiries/<int:enquiry_id>/resolve")
@login_required(Role.COORDINATOR)
def resolve(enquiry_id: int):
    """Resolve the enquiry with one outcome, as for an answered call."""
    session = get_session()
    try:
        resolve_enquiry(
            session,
            enquiry_id,
            request.form,
            actor=current_user(),
            settings=desk_settings(),
            now=request_now(),
        )
        session.commit()
    except InvalidDisposition as exc:
        session.rollback()
        return _render_enquiry(enquiry_id, form=request.form, errors=exc.errors, status=422)
    except SlotTaken as exc:
        session.rollback()
        return _render_enquiry(
            enquiry_id, form=request.form, errors={"slot_start": exc.message}, status=409
        )
    except AlreadyDisposed as exc:
        session.rollback()
        return _render_enquiry(enquiry_id, message=exc.message, status=409)
    flash("Enquiry resolved.", "success")
    return redirect(url_for("console.enquiries"))
