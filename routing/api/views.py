"""/api/v1: create, read and change jobs. Thin views over notifications.jobs."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from models import JobStatus
from notifications import capacity
from notifications.jobs import (
    UNSET,
    DayFull,
    DuplicateJob,
    InvalidJob,
    InvalidTransition,
    JobError,
    JobSettings,
    UnknownAccountManager,
    create_job,
    find_job,
    is_storable_text,
    update_job,
)
from notifications.jobs.eta import Eta, InvalidEta, parse_eta
from notifications.jobs.queries import job_page

from ..clock import request_now
from ..database import get_session
from ..errors import Conflict, NotFound, SwitchboardError, ValidationFailed
from ..security import csrf
from ..tokens import verify_token
from .openapi import openapi_document
from .serializers import job_json, job_summary_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_BODY_BYTES = 64 * 1024
CREATE_FIELDS = {
    "reference",
    "customer",
    "description",
    "eta",
    "account_manager_email",
    "eta_override_reason",
}
CUSTOMER_FIELDS = {"name", "email", "phone", "company"}
PATCH_FIELDS = {"eta", "eta_reason", "status", "account_manager_email", "eta_override_reason"}
LIST_PARAMETERS = {"status", "account_manager_email", "eta_from", "eta_to", "limit", "cursor"}
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
DEFAULT_DAYS = 14


class Unauthorized(SwitchboardError):
    status_code = 401


class BadRequest(SwitchboardError):
    status_code = 400


class PayloadTooLarge(SwitchboardError):
    status_code = 413


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    token = (
        verify_token(get_session(), raw, now=request_now()) if scheme.lower() == "bearer" else None
    )
    if token is None:
        raise Unauthorized(
            "a valid API token is required: Authorization: Bearer <token>",
            {"authorization": "missing or invalid bearer token"},
        )
    g.api_actor = f"api:{token.name}"


@bp.after_request
def _challenge(response):
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="switchboard"'
    return response


def _settings() -> JobSettings:
    return JobSettings.from_config(current_app.config["SWITCHBOARD_CONFIG"])


def _json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400/413 that says what is wrong."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("the request body must be JSON", {"body": "not valid JSON"}) from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", {"body": "not an object"})
    _check_text(body, "")
    return body


def _check_text(value: Any, path: str) -> None:
    if isinstance(value, str) and not is_storable_text(value):
        field = path or "body"
        raise ValidationFailed(
            f"{field} contains characters that cannot be stored", {field: "invalid characters"}
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, path)


def _refuse_unknown(body: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        details = {f"{prefix}{name}": "unknown field" for name in unknown}
        raise ValidationFailed(f"unknown field(s): {', '.join(details)}", details)


def _validation(exc: JobError) -> ValidationFailed:
    field = exc.field or "body"
    return ValidationFailed(exc.message, {field: exc.message})


def _identical(job, body: dict[str, Any], settings: JobSettings) -> bool:
    """Whether a repeated POST describes exactly the job that exists (a safe retry)."""
    customer = body.get("customer")
    if not isinstance(customer, dict):
        return False
    try:
        eta = parse_eta(body.get("eta"), settings.zone(get_session()))
    except InvalidEta:
        return False
    email, name = customer.get("email"), customer.get("name")
    manager, description = body.get("account_manager_email"), body.get("description")
    if not isinstance(email, str) or (job.customer.email or "") != email.strip().lower():
        return False
    if not isinstance(name, str) or name.strip() != job.customer.name:
        return False
    if (description.strip() or None if isinstance(description, str) else None) != (job.description):
        return False
    if eta != Eta.of_job(job):
        return False
    if manager is not None:
        current = job.account_manager.email if job.account_manager else None
        if not isinstance(manager, str) or manager.strip().lower() != current:
            return False
    return True


def _day_full(exc: DayFull) -> Conflict:
    """409: the day has no room; the details say its load and the days that have room."""
    return Conflict(exc.message, exc.details())


def _job_response(job, status: int = 200):
    session = get_session()
    return jsonify(job_json(session, job, timezone=_settings().timezone or "UTC")), status


@bp.post("/jobs")
def create():
    """Create a job: 201 with the job; a repeated identical request gets 200."""
    body = _json_object()
    _refuse_unknown(body, CREATE_FIELDS)
    missing = [name for name in ("reference", "customer", "eta") if body.get(name) is None]
    if missing:
        raise ValidationFailed(
            f"missing required field(s): {', '.join(missing)}",
            {name: "required" for name in missing},
        )
    if isinstance(body["customer"], dict):
        _refuse_unknown(body["customer"], CUSTOMER_FIELDS, "customer.")
    session = get_session()
    settings = _settings()
    try:
        job = create_job(
            session,
            reference=body["reference"],
            customer=body["customer"],
            description=body.get("description"),
            eta=body["eta"],
            account_manager_email=body.get("account_manager_email"),
            eta_override_reason=body.get("eta_override_reason"),
            actor=g.api_actor,
            settings=settings,
            now=request_now(),
        )
        session.commit()
    except DayFull as exc:
        session.rollback()
        raise _day_full(exc) from None
    except DuplicateJob as exc:
        session.rollback()
        if _identical(exc.job, body, settings):
            return _job_response(exc.job, 200)
        raise Conflict(exc.message, {"reference": "already exists"}) from None
    except (InvalidJob, UnknownAccountManager) as exc:
        session.rollback()
        raise _validation(exc) from None
    except IntegrityError:
        # Two identical requests raced: the other one created the job first.
        session.rollback()
        raise Conflict(
            f"a job with reference {body['reference']!r} already exists",
            {"reference": "already exists"},
        ) from None
    return _job_response(job, 201)


def _job_or_404(reference: str):
    job = find_job(get_session(), reference) if is_storable_text(reference) else None
    if job is None:
        raise NotFound(f"no job with reference {reference!r}", {"reference": "not found"})
    return job


@bp.get("/jobs/<path:reference>")
def show(reference: str):
    """One job with its ETA history and every email sent about it."""
    job = _job_or_404(reference)
    response = _job_response(job)
    get_session().commit()  # the token's last-used time
    return response


@bp.patch("/jobs/<path:reference>")
def change(reference: str):
    """Change the ETA (with a reason), the status or the account manager."""
    job = _job_or_404(reference)
    body = _json_object()
    _refuse_unknown(body, PATCH_FIELDS)
    if not body:
        raise ValidationFailed(
            "nothing to change: give eta, eta_reason, status or account_manager_email",
            {"body": "empty"},
        )
    for name in ("eta_reason", "eta_override_reason"):
        if name in body and "eta" not in body:
            raise ValidationFailed(f"{name} needs an eta", {name: "given without eta"})
    if "eta" in body and body["eta"] is None:
        raise ValidationFailed("eta cannot be removed", {"eta": "required"})
    if "status" in body and not isinstance(body["status"], str):
        raise ValidationFailed("status must be text", {"status": "must be text"})
    session = get_session()
    try:
        update_job(
            session,
            job,
            eta=body.get("eta", UNSET),
            eta_reason=body.get("eta_reason"),
            status=body.get("status", UNSET),
            account_manager_email=body.get("account_manager_email", UNSET),
            eta_override_reason=body.get("eta_override_reason"),
            actor=g.api_actor,
            settings=_settings(),
            now=request_now(),
        )
        session.commit()
    except DayFull as exc:
        session.rollback()
        raise _day_full(exc) from None
    except InvalidTransition as exc:
        session.rollback()
        raise Conflict(exc.message, {"status": exc.message}) from None
    except (InvalidJob, UnknownAccountManager) as exc:
        session.rollback()
        raise _validation(exc) from None
    return _job_response(job)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API (no token needed)."""
    return jsonify(openapi_document())


def _query_date(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    problem = BadRequest(
        f"{name} must be a date such as 2026-12-04", {name: "not a YYYY-MM-DD date"}
    )
    if len(raw) != 10:
        raise problem
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise problem from None
    if not 1970 <= day.year <= 2999:
        raise problem
    return day


def _query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(
            f"{name} must be a whole number from {low} to {high}",
            {name: f"a whole number from {low} to {high}"},
        )
    return int(raw)


def _refuse_unknown_parameters(allowed: set[str]) -> None:
    """Unknown or empty parameters are refused: a typo never silently widens a filter."""
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise BadRequest(
            f"unknown query parameter(s): {', '.join(unknown)}",
            {name: "unknown parameter" for name in unknown},
        )
    empty = sorted(name for name, value in request.args.items(multi=True) if not value.strip())
    if empty:
        raise BadRequest(
            f"empty query parameter(s): {', '.join(empty)} (leave a filter out to match any)",
            {name: "empty" for name in empty},
        )


@bp.get("/capacity")
def delivery_capacity():
    """Booked jobs, capacity and free places per local day (``from``, ``days`` ≤ 366)."""
    _refuse_unknown_parameters({"from", "days"})
    session = get_session()
    tz = _settings().zone(session)
    start = _query_date("from") or capacity.window_start(request_now(), tz)
    days = _query_int("days", DEFAULT_DAYS, 1, capacity.MAX_DAYS)
    if start + timedelta(days=days) > date(2999, 12, 31):
        raise BadRequest("the window reaches past the year 2999", {"from": "too late"})
    loads = capacity.day_loads(session, start, days, tz)
    response = jsonify(days=[load.as_json() for load in loads])
    session.commit()  # the token's last-used time
    return response


def _encode_cursor(job_id: int) -> str:
    raw = json.dumps({"after": job_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(raw: str) -> int:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        after = value["after"]
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise BadRequest(
            "cursor is not one this API gave (use next_cursor as it is)",
            {"cursor": "invalid"},
        ) from None


def _status_filter() -> list[JobStatus] | None:
    raw = request.args.get("status")
    if raw is None or raw == "":
        return None
    statuses = []
    for part in raw.split(","):
        try:
            statuses.append(JobStatus(part.strip()))
        except ValueError:
            allowed = ", ".join(s.value for s in JobStatus)
            raise BadRequest(
                f"status must be one or more (comma-separated) of {allowed}",
                {"status": f"unknown status {part.strip()!r}"},
            ) from None
    return statuses


@bp.get("/jobs")
def list_jobs():
    """Jobs, oldest first, filtered by status, account manager and ETA day; paginated."""
    _refuse_unknown_parameters(LIST_PARAMETERS)
    session = get_session()
    tz = _settings().zone(session)
    statuses = _status_filter()
    eta_from, eta_to = _query_date("eta_from"), _query_date("eta_to")
    if eta_from and eta_to and eta_from > eta_to:
        raise BadRequest("eta_from is after eta_to", {"eta_from": "after eta_to"})
    limit = _query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    cursor = request.args.get("cursor")
    after = _decode_cursor(cursor) if cursor else None
    email = request.args.get("account_manager_email")
    if email is not None and email != "":
        email = email.strip().lower()
        if "@" not in email or len(email) > 254 or not is_storable_text(email):
            raise BadRequest(
                "account_manager_email must be an email address",
                {"account_manager_email": "not an email address"},
            )
    rows, more = job_page(
        session,
        tz,
        after=after,
        statuses=statuses,
        manager_email=email or None,
        eta_from=eta_from,
        eta_to=eta_to,
        limit=limit,
    )
    response = jsonify(
        jobs=[job_summary_json(job, tz) for job in rows],
        next_cursor=_encode_cursor(rows[-1].id) if more else None,
    )
    session.commit()  # the token's last-used time
    return response
