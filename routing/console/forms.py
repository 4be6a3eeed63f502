"""What the disposition form shows: free slots, account managers, the caller's details."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from itertools import groupby
from typing import Any

from models import Appointment, Customer, Outcome, Salesperson
from notifications.jobs import account_managers_with_load

from ..clock import request_now
from ..database import get_session
from ..desk.booking import APPOINTMENT_LENGTHS, TELECONFERENCE_LENGTHS, free_slots
from ..desk.changes import upcoming_bookings
from ..desk.disposition import LEAST_LOADED, OUTCOME_LABELS, SALES_OUTCOMES
from .capacity import capacity_view, refused_alternatives
from .helpers import zone


def disposition_context(
    *,
    customer: Customer | None,
    salesperson: Salesperson | None,
    caller_number: str | None,
    form: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    live_call: bool = False,
) -> dict[str, Any]:
    """Template variables for ``console/_disposition_form.html``."""
    session = get_session()
    org_zone = zone()
    values: dict[str, Any] = {
        "caller_name": customer.name if customer else "",
        "caller_phone": (customer.phone if customer else None) or caller_number or "",
        "caller_email": (customer.email if customer else None) or "",
        "account_manager_id": LEAST_LOADED,
        "length_minutes": str(salesperson.appointment_minutes if salesperson else 30),
        "conference_minutes": "30",
        # The next full hour, local, as <input type=datetime-local> wants it.
        "conference_start": (request_now().astimezone(org_zone) + timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:00"
        ),
    }
    if form is not None:
        values.update({key: form.get(key) for key in form})
    days = []
    if salesperson is not None:
        days = slot_days(free_slots(session, salesperson.id, zone=org_zone, now=request_now()))
    eta_capacity = capacity_view(session)
    if errors and "new_job_eta_alternatives" in errors:
        eta_capacity.refused = True
        eta_capacity.alternatives = refused_alternatives(dict(errors), "new_job_eta_alternatives")
    bookings = upcoming_bookings(session, customer.id, request_now()) if customer else []
    changes = [change_choice(booking) for booking in bookings]
    if len(changes) == 1:
        values.setdefault("change_booking", changes[0]["key"])
    outcomes = [
        (o.value, OUTCOME_LABELS[o])
        for o in Outcome
        # Offered only to a caller who has something coming up.
        if o is not Outcome.APPOINTMENT_CHANGE or changes
    ]
    return {
        "eta_capacity": eta_capacity,
        "values": values,
        "errors": dict(errors or {}),
        "outcomes": outcomes,
        "changes": changes,
        "sales_outcomes": [o.value for o in SALES_OUTCOMES],
        "slot_days": days,
        "appointment_lengths": APPOINTMENT_LENGTHS,
        "conference_lengths": TELECONFERENCE_LENGTHS,
        "account_managers": account_managers_with_load(session),
        "least_loaded": LEAST_LOADED,
        "salesperson": salesperson,
        "live_call": live_call,
    }


def slot_days(slots) -> list[tuple[Any, list[tuple[str, str]]]]:
    """Free slots grouped by local day: [(date, [(value, "HH:MM"), …]), …]."""
    org_zone = zone()
    return [
        (
            day,
            [
                (slot.start.isoformat(), slot.start.astimezone(org_zone).strftime("%H:%M"))
                for slot in day_slots
            ],
        )
        for day, day_slots in groupby(slots, key=lambda s: s.start.astimezone(org_zone).date())
    ]


def change_choice(booking) -> dict[str, Any]:
    """One upcoming booking as the move-or-cancel section offers it."""
    org_zone = zone()
    local = booking.start_at.astimezone(org_zone)
    minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
    if isinstance(booking, Appointment):
        kind = "appointment"
        label = f"Appointment {local:%a %d %b %H:%M} with {booking.salesperson.name}"
        days = slot_days(
            free_slots(
                get_session(),
                booking.salesperson_id,
                zone=org_zone,
                now=request_now(),
                length_minutes=minutes,
                ignore_appointment_id=booking.id,
            )
        )
    else:
        kind = "teleconference"
        label = f"Teleconference {local:%a %d %b %H:%M}: {booking.title}"
        days = []
    return {
        "key": f"{kind}:{booking.id}",
        "kind": kind,
        "field": f"move_{kind}_{booking.id}",
        "label": label,
        "when": f"{local:%a %d %b %H:%M}",
        "booking": booking,
        "minutes": minutes,
        "slot_days": days,
        "local_start": local.strftime("%Y-%m-%dT%H:%M"),
    }
