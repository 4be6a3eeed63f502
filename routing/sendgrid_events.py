"""POST /sendgrid/events: SendGrid's event webhook, signature-checked (PRODUCT.md §6)."""

from __future__ import annotations

import binascii
import json
import logging

from flask import Blueprint, current_app, jsonify, request
from sendgrid.helpers.eventwebhook import EventWebhook

from models import utcnow
from notifications.events import MalformedEvents, record_events

from .database import get_session
from .errors import SwitchboardError
from .security import csrf

log = logging.getLogger(__name__)

bp = Blueprint("sendgrid_events", __name__, url_prefix="/sendgrid")
csrf.exempt(bp)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_BODY_BYTES = 5 * 1024 * 1024


class Forbidden(SwitchboardError):
    status_code = 403


class BadRequest(SwitchboardError):
    status_code = 400


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


@bp.post("/events")
def events():
    """Store a batch of delivery events (delivered, bounce, open …) once each."""
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("the event batch is too large")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        body = None
    verifier = _verifier()
    if verifier is not None and (body is None or not _signed(verifier, body)):
        raise Forbidden("the event webhook signature is missing or wrong")
    if body is None:
        raise BadRequest("the body must be UTF-8 JSON")
    try:
        batch = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("the body must be a JSON array of events") from None
    session = get_session()
    config = current_app.config["SWITCHBOARD_CONFIG"]
    from models.hours import BusinessCalendar

    tz = BusinessCalendar.load(session, config.TIMEZONE).timezone
    try:
        report = record_events(session, batch, now=utcnow(), tz=tz)
    except MalformedEvents as exc:
        session.rollback()
        raise BadRequest(str(exc)) from None
    session.commit()
    log.info("sendgrid events: %s", report)
    return jsonify(stored=report.stored, duplicates=report.duplicates, unmatched=report.unmatched)
