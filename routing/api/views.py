"""/api/v1: create, read and change jobs. Thin views over notifications.jobs."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from notifications.eta import Eta, InvalidEta, parse_eta
from notifications.jobs import (
    UNSET,
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

from ..database import get_session
from ..errors import Conflict, NotFound, SwitchboardError, ValidationFailed
from ..security import csrf
from ..tokens import verify_token
from .openapi import openapi_document
from .serializers import job_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_BODY_BYTES = 64 * 1024
CREATE_FIELDS = {"reference", "customer", "description", "eta", "account_manager_email"}
CUSTOMER_FIELDS = {"name", "email", "phone", "company"}
PATCH_FIELDS = {"eta", "eta_reason", "status", "account_manager_email"}


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
    token = verify_token(get_session(), raw) if scheme.lower() == "bearer" else None
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
            actor=g.api_actor,
            settings=settings,
        )
        session.commit()
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
    if "eta_reason" in body and "eta" not in body:
        raise ValidationFailed("eta_reason needs an eta", {"eta_reason": "given without eta"})
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
            actor=g.api_actor,
            settings=_settings(),
        )
        session.commit()
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
