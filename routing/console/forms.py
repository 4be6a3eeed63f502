"""What the disposition form shows: free slots, account managers, the caller's details."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from models import Customer, Outcome, Salesperson

from ..database import get_session
from ..desk.accounts import account_managers_with_load
from ..desk.booking import APPOINTMENT_LENGTHS, TELECONFERENCE_LENGTHS, free_slots
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
        "length_minutes": "30",
        "conference_minutes": "30",
        # The next full hour, local, as <input type=datetime-local> wants it.
        "conference_start": (datetime.now(org_zone) + timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:00"
        ),
    }
    if form is not None:
        values.update({key: form.get(key) for key in form})
    days = []
    if salesperson is not None:
        slots = free_slots(session, salesperson.id, zone=org_zone)
        for day, day_slots in groupby(slots, key=lambda s: s.start.astimezone(org_zone).date()):
            days.append(
                (
                    day,
                    [
                        (slot.start.isoformat(), slot.start.astimezone(org_zone).strftime("%H:%M"))
                        for slot in day_slots
                    ],
                )
            )
    eta_capacity = capacity_view(session)
    if errors and "new_job_eta_alternatives" in errors:
        eta_capacity.refused = True
        eta_capacity.alternatives = refused_alternatives(dict(errors), "new_job_eta_alternatives")
    return {
        "eta_capacity": eta_capacity,
        "values": values,
        "errors": dict(errors or {}),
        "outcomes": [(o.value, OUTCOME_LABELS[o]) for o in Outcome],
        "sales_outcomes": [o.value for o in SALES_OUTCOMES],
        "slot_days": days,
        "appointment_lengths": APPOINTMENT_LENGTHS,
        "conference_lengths": TELECONFERENCE_LENGTHS,
        "account_managers": account_managers_with_load(session),
        "least_loaded": LEAST_LOADED,
        "salesperson": salesperson,
        "live_call": live_call,
    }
