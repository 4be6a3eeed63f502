"""POST /sendgrid/events: SendGrid's event webhook, signature-checked (PRODUCT.md §6)."""

from __future__ import annotations

import binascii
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sendgrid.helpers.eventwebhook import EventWebhook

from notifications.events import MalformedEvents, record_events

from .clock import request_now
from .database import get_session
from .errors import SwitchboardError
from .security import csrf

log = logging.getLogger(__name__)

bp = Blueprint("sendgrid_events", __name__, url_prefix="/sendgrid")
csrf.exempt(bp)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# SendGrid posts a batch every 30 s or at 768 KB; the app refuses larger bodies before
# reading them (security.BODY_LIMITS), this is the same limit for the view itself.
MAX_BODY_BYTES = 1024 * 1024
# A signed batch is fresh: a replay of one captured earlier is refused.
MAX_AGE = timedelta(minutes=10)
MAX_CLOCK_SKEW = timedelta(minutes=1)


class Forbidden(SwitchboardError):
    status_code = 403


class BadRequest(SwitchboardError):
    status_code = 400


class PayloadTooLarge(SwitchboardError):
    status_code = 413


def _verifier() -> EventWebhook | None:
    key = current_app.config.get("SENDGRID_EVENT_PUBLIC_KEY")
    if not key:
        return None
    cache = current_app.extensions.setdefault("sendgrid_event_webhook", {})
    if key not in cache:
        cache[key] = EventWebhook(key)
    return cache[key]


def _signed(verifier: EventWebhook, body: str) -> bool:
    signature = request.headers.get(SIGNATURE_HEADER, "")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        return False
    try:
        return verifier.verify_signature(body, signature, timestamp)
    except (ValueError, binascii.Error, TypeError):
        return False


def _fresh(at: datetime) -> bool:
    """Whether the signed timestamp is at most MAX_AGE old and not in the future."""
    try:
        signed_at = datetime.fromtimestamp(int(request.headers.get(TIMESTAMP_HEADER, "")), UTC)
    except (ValueError, OverflowError, OSError):
        return False
    return at - MAX_AGE <= signed_at <= at + MAX_CLOCK_SKEW


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _read_body() -> str | None:
    """The raw body as text (None if it is not UTF-8); 413 before reading a huge one."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the event batch is larger than {MAX_BODY_BYTES // 1024} KB")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the event batch is larger than {MAX_BODY_BYTES // 1024} KB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


@bp.post("/events")
def events():
    """Store a batch of delivery events (delivered, bounce, open …) once each.

    With ``SENDGRID_EVENT_PUBLIC_KEY`` set, only fresh batches signed with it count. In
    production an unset key refuses everything (PRODUCT.md §6): an event nobody can
    verify never changes a customer's record.
    """
    verifier = _verifier()
    config = current_app.config["SWITCHBOARD_CONFIG"]
    if verifier is None and config.ENV_NAME == "production":
        log.warning("refused SendGrid events: SENDGRID_EVENT_PUBLIC_KEY is not set")
        raise Forbidden("event webhook refused: SENDGRID_EVENT_PUBLIC_KEY is not configured")
    body = _read_body()
    at = request_now()
    if verifier is not None:
        if body is None or not _signed(verifier, body):
            raise Forbidden("the event webhook signature is missing or wrong")
        if not _fresh(at):
            raise Forbidden("the event webhook timestamp is more than 10 minutes off")
    if body is None:
        raise BadRequest("the body must be UTF-8 JSON")
    try:
        batch = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BadRequest("the body must be a JSON array of events") from None
    session = get_session()
    from models.hours import BusinessCalendar

    tz = BusinessCalendar.load(session, config.TIMEZONE).timezone
    try:
        report = record_events(session, batch, now=at, tz=tz)
    except MalformedEvents as exc:
        session.rollback()
        raise BadRequest(str(exc)) from None
    session.commit()
    log.info("sendgrid events: %s", report)
    return jsonify(stored=report.stored, duplicates=report.duplicates, unmatched=report.unmatched)
