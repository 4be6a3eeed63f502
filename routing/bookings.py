"""Public page linked from a reminder: ask for a change (signed token, no login)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from models import Appointment, BookingStatus
from notifications.reminders import booking_from_change_token

from .clock import request_now
from .database import get_session
from .desk.changes import BookingChanged, request_change
from .desk.errors import InvalidDisposition
from .desk.zone import org_zone

bp = Blueprint("bookings", __name__)


@bp.route("/bookings/change/<token>", methods=["GET", "POST"])
def change_request(token: str):
    """Show the appointment and take the customer's request; coordinators get an enquiry."""
    session = get_session()
    booking = booking_from_change_token(session, current_app.config["SECRET_KEY"], token)
    if booking is None:
        abort(404, description="This link is not valid.")
    zone = org_zone(session, current_app.config.get("TIMEZONE") or "UTC")
    now = request_now()
    context = {
        "booking": booking,
        "is_appointment": isinstance(booking, Appointment),
        "zone": zone,
        "closed": booking.status is not BookingStatus.BOOKED or booking.end_at <= now,
    }
    if request.method == "GET" or context["closed"]:
        return render_template("change_request.html", message="", **context)
    message = request.form.get("message", "")
    try:
        request_change(session, booking, message=message, zone=zone, now=now)
        session.commit()
    except InvalidDisposition as exc:
        session.rollback()
        error = exc.errors.get("message", exc.message)
        return render_template("change_request.html", message=message, error=error, **context), 422
    except BookingChanged as exc:
        session.rollback()
        return render_template(
            "change_request.html", message=message, error=exc.message, **context
        ), 409
    return render_template("change_request.html", thanks=True, message=message, **context)
