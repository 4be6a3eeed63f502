"""The disposition form: check the posted strings and collect every field's error at once."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from models import Outcome
from models.contact import InvalidContact, normalise_email, normalise_phone

from ..booking import APPOINTMENT_LENGTHS, TELECONFERENCE_LENGTHS
from ..change_outcome import parse_change
from ..errors import InvalidDisposition
from .types import LEAST_LOADED, SALES_OUTCOMES, Disposition

_PARTICIPANT = re.compile(r"^\s*(?:(?P<name>[^<]*?)\s*<(?P<angle>[^>]+)>|(?P<bare>\S+@\S+))\s*$")

Errors = dict[str, str]


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return str(value).strip() if value is not None else ""


def _checked(form: Mapping[str, Any], name: str) -> bool:
    return _text(form, name).lower() in {"1", "on", "true", "yes"}


def _transfer_choice(value: str) -> tuple[bool, str]:
    """The form's transfer choice: "" (callback task), "warm", "cold"; "on" means warm."""
    value = value.lower()
    if value == "cold":
        return True, "cold"
    return value in {"1", "on", "true", "yes", "warm"}, "warm"


def _int_choice(value: str, choices: tuple[int, ...], default: int) -> int | None:
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number in choices else None


def parse_participants(text: str, region: str) -> tuple[list[tuple[str, str]], str | None]:
    """One participant per line, "Name <email>" or a bare email; returns (list, error)."""
    people = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = _PARTICIPANT.match(raw)
        if not match:
            return [], f"Line {number}: write “Name <email>” or an email address."
        email_raw = match.group("angle") or match.group("bare")
        try:
            email = normalise_email(email_raw)
        except InvalidContact as exc:
            return [], f"Line {number}: {exc}"
        name = (match.group("name") or "").strip() or email.split("@")[0]
        people.append((name, email))
    return people, None


def _chosen_eta(form: Mapping[str, Any]) -> str | None:
    """The typed ETA, or the day with room she picked instead (keeping a typed time)."""
    typed = _text(form, "new_job_eta")
    alternative = _text(form, "new_job_eta_alternative")
    if alternative:
        return alternative + (typed[10:] if len(typed) > 10 and typed[10] == "T" else "")
    return typed or None


def parse_disposition(
    form: Mapping[str, Any], *, zone: ZoneInfo, region: str = "US"
) -> Disposition:
    """Check the posted form; raise ``InvalidDisposition`` with every field's error."""
    errors: Errors = {}
    raw_outcome = _text(form, "outcome")
    try:
        outcome = Outcome(raw_outcome)
    except ValueError:
        raise InvalidDisposition({"outcome": "Choose how the call ended."}) from None
    result = Disposition(outcome=outcome, notes=_text(form, "notes") or None)
    if outcome in SALES_OUTCOMES:
        _parse_caller(form, result, errors, region)
    parse_outcome = _OUTCOME_PARSERS.get(outcome)
    if parse_outcome is not None:
        parse_outcome(form, result, errors, zone, region)
    if errors:
        raise InvalidDisposition(errors)
    return result


def _parse_caller(
    form: Mapping[str, Any], result: Disposition, errors: Errors, region: str
) -> None:
    result.caller_declined = _checked(form, "caller_declined")
    if result.caller_declined:
        return
    result.caller_name = _text(form, "caller_name") or None
    if not result.caller_name:
        errors["caller_name"] = "Enter the caller's name, or tick “caller declined”."
    try:
        result.caller_phone = normalise_phone(_text(form, "caller_phone"), region)
    except InvalidContact as exc:
        errors["caller_phone"] = f"Phone: {exc}."
    try:
        result.caller_email = normalise_email(_text(form, "caller_email"))
    except InvalidContact as exc:
        errors["caller_email"] = f"Email: {exc}"


def _parse_appointment(
    form: Mapping[str, Any], result: Disposition, errors: Errors, zone: ZoneInfo, region: str
) -> None:
    raw_slot = _text(form, "slot_start")
    try:
        slot = datetime.fromisoformat(raw_slot) if raw_slot else None
    except ValueError:
        slot = None
    if slot is None or slot.tzinfo is None:
        errors["slot_start"] = "Pick one of the salesperson's free slots."
    else:
        result.slot_start = slot.astimezone(UTC)
    length = _int_choice(_text(form, "length_minutes"), APPOINTMENT_LENGTHS, 30)
    if length is None:
        errors["length_minutes"] = "Choose one of the offered lengths."
    else:
        result.length_minutes = length
    result.place = _text(form, "place") or None


def _parse_teleconference(
    form: Mapping[str, Any], result: Disposition, errors: Errors, zone: ZoneInfo, region: str
) -> None:
    result.conference_title = _text(form, "conference_title") or None
    raw_start = _text(form, "conference_start")
    try:
        local = datetime.fromisoformat(raw_start) if raw_start else None
    except ValueError:
        local = None
    if local is None:
        errors["conference_start"] = "Enter the date and time of the teleconference."
    else:
        # The form's datetime-local value is the organisation's local time.
        if local.tzinfo is None:
            local = local.replace(tzinfo=zone)
        result.conference_start = local.astimezone(UTC)
    minutes = _int_choice(_text(form, "conference_minutes"), TELECONFERENCE_LENGTHS, 30)
    if minutes is None:
        errors["conference_minutes"] = "Choose one of the offered lengths."
    else:
        result.conference_minutes = minutes
    people, problem = parse_participants(_text(form, "participants"), region)
    if problem:
        errors["participants"] = problem
    result.participants = people


def _parse_account_management(
    form: Mapping[str, Any], result: Disposition, errors: Errors, zone: ZoneInfo, region: str
) -> None:
    raw_manager = _text(form, "account_manager_id") or LEAST_LOADED
    if raw_manager != LEAST_LOADED:
        if not raw_manager.isdigit():
            errors["account_manager_id"] = "Choose an account manager."
        else:
            result.account_manager_id = int(raw_manager)
    result.transfer, result.transfer_mode = _transfer_choice(_text(form, "transfer"))
    result.job_reference = _text(form, "job_reference") or None
    result.new_job_reference = _text(form, "new_job_reference") or None
    result.new_job_description = _text(form, "new_job_description") or None
    result.new_job_eta = _chosen_eta(form)
    result.new_job_eta_override_reason = _text(form, "new_job_eta_override_reason") or None
    if result.job_reference and result.new_job_reference:
        errors["new_job_reference"] = "Link an existing job or create a new one, not both."
    if result.new_job_reference and not result.new_job_eta:
        errors["new_job_eta"] = "A new job needs an ETA."


def _parse_refund(
    form: Mapping[str, Any], result: Disposition, errors: Errors, zone: ZoneInfo, region: str
) -> None:
    result.refund_reason = _text(form, "refund_reason") or None
    if not result.refund_reason:
        errors["refund_reason"] = "Record why the customer wants a refund or to cancel."
    result.job_reference = _text(form, "refund_job_reference") or None


def _parse_general_enquiry(
    form: Mapping[str, Any], result: Disposition, errors: Errors, zone: ZoneInfo, region: str
) -> None:
    if not result.notes:
        errors["notes"] = "Note what the caller wanted."


def _parse_change(
    form: Mapping[str, Any], result: Disposition, errors: Errors, zone: ZoneInfo, region: str
) -> None:
    parse_change(form, result, errors, zone)


_OUTCOME_PARSERS: dict[Outcome, Callable[..., None]] = {
    Outcome.APPOINTMENT: _parse_appointment,
    Outcome.TELECONFERENCE: _parse_teleconference,
    Outcome.ACCOUNT_MANAGEMENT: _parse_account_management,
    Outcome.REFUND_REQUEST: _parse_refund,
    Outcome.GENERAL_ENQUIRY: _parse_general_enquiry,
    Outcome.APPOINTMENT_CHANGE: _parse_change,
}
