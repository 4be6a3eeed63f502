"""``POST /twilio/voice/incoming``: every call starts here, answered in front of Flask.

The caller hears nothing until this answers, and it is the one request whose rate grows
with the business. It does what every webhook under /twilio/ does (Twilio's signature,
the form, TwiML; a failure answers the fallback TwiML with 200) but skips what Flask does
for the console on each request: request context, cookie session, user loading, CSRF
and URL matching. On the webhook benchmark that machinery cost more CPU than the call's
own work (signature, one INSERT, TwiML). Every other path, /twilio/ included, goes
through Flask (signature.py checks those).

Installed by ``init_app`` as WSGI middleware around ``app.wsgi_app``, so the test client,
gunicorn and any outer middleware (a proxy fix) see the same thing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from flask import Flask
from twilio.request_validator import RequestValidator
from werkzeug.wsgi import get_current_url

from ..clock import app_now
from ..database import get_db
from ..deadline import DeadlineExceeded, deadline
from . import calls
from . import twiml as t
from .routing_table import RoutingTable, RoutingTableCache
from .signature import EXTENSION as VALIDATOR
from .signature import FORBIDDEN, is_signed, log_refusal

log = logging.getLogger(__name__)

PATH = "/twilio/voice/incoming"
# The caller is answered within 3 s whatever the database does (PRODUCT.md section 3):
# routing (pool checkout, connect, the INSERT, a directory reload) gets this long, the
# rest is margin for reading the request and a loaded machine.
ROUTE_DEADLINE_S = 2.0
# Twilio's incoming-call form is about 1 KB; anything far larger is not Twilio.
MAX_BODY_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class IncomingCallHandler:
    """WSGI middleware answering ``POST /twilio/voice/incoming``; the rest goes to ``next_app``."""

    def __init__(self, app: Flask, cache: RoutingTableCache, next_app: WSGIApp):
        self.app = app
        self.cache = cache
        self.next_app = next_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.next_app(environ, start_response)
        return self.answer(environ, start_response)

    def answer(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        config = self.app.config
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            return _plain(start_response, "413 Request Entity Too Large", "Request too large\n")
        form = _read_form(environ, length)
        url = _signed_url(environ, config.get("PUBLIC_BASE_URL"))
        signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
        validator: RequestValidator = self.app.extensions[VALIDATOR]
        token = config["TWILIO_AUTH_TOKEN"]
        if not token or not is_signed(
            validator, url, form, signature, environ.get("HTTP_X_TWILIO_SIGNATURE_SETTINGS")
        ):
            reason = "bad" if signature and token else "missing"
            log_refusal("POST", PATH, reason, url, environ.get("REMOTE_ADDR"))
            return _plain(start_response, "403 FORBIDDEN", FORBIDDEN)
        # This request's one instant, from the app's clock (the fast path has no ``g``).
        now = app_now(self.app)
        try:
            with deadline(ROUTE_DEADLINE_S):
                document = self.route(form, now)
        except DeadlineExceeded:
            # The database hangs or crawls: the caller is not kept waiting for it. The
            # call's row is written later by its status callback (calls.ensure_call).
            log.warning(
                "voice webhook %s: no routing within %.1f s for call %s; answering the "
                "fallback TwiML",
                PATH,
                ROUTE_DEADLINE_S,
                form.get("CallSid"),
            )
            document = str(t.degraded(self.app.config))
        except Exception:
            log.exception(
                "voice webhook %s failed for call %s; answering safe TwiML",
                PATH,
                form.get("CallSid"),
            )
            document = str(t.degraded(self.app.config))
        body = document.encode()
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def route(self, form: FormValues, now: datetime) -> str:
        """Store the call and decide what the caller hears (calls.route_incoming_call)."""
        params = calls.CallParams.from_form(form)
        database = get_db(self.app)
        cache = self.cache

        def directory(version: str | None = None) -> RoutingTable:
            # Its own short session: the call's row is written on another connection,
            # never inside a transaction this read would leave open.
            with database.Session() as session:
                return cache.get(session, version, now=now)

        with database.statement_connection() as connection:
            decision = calls.route_incoming_call(
                connection,
                cache.peek() or directory(),
                params,
                now=now,
                region=self.app.config.get("DEFAULT_REGION", "US"),
                refresh=directory,
            )
        if decision.action == "teleconference":
            return str(t.ask_for_pin(1))
        if decision.action == "voicemail":
            return t.voicemail_xml(decision.salesperson_name, within_hours=decision.within_hours)
        return t.ring_coordinators_xml(
            decision.coordinators,
            call_sid=decision.call_sid,
            timeout=decision.ring_timeout,
            caller_id=decision.caller_id,
        )


class FormValues(dict[str, str]):
    """A form's fields: each name's first value, as ``MultiDict.get`` gives it; all of a
    name's values through ``getall``/``getlist``, which RequestValidator asks for first.

    Parsed here rather than by werkzeug: a MultiDict (and RequestValidator probing it
    for ``getall`` with an exception per field) cost more than the signature's HMAC.
    """

    __slots__ = ("lists",)

    def __init__(self) -> None:
        super().__init__()
        self.lists: dict[str, list[str]] = {}

    def add(self, name: str, value: str) -> None:
        values = self.lists.get(name)
        if values is None:
            self.lists[name] = [value]
            self[name] = value
        else:
            values.append(value)

    def getall(self, name: str) -> list[str]:
        return self.lists[name]

    getlist = getall


def parse_form(body: str) -> FormValues:
    """``application/x-www-form-urlencoded`` as ``parse_qsl(keep_blank_values=True)`` reads
    it: fields split at ``&``, a field without ``=`` has an empty value, ``+`` is a space,
    percent-escapes decoded as UTF-8 with undecodable bytes replaced."""
    form = FormValues()
    for field in body.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "+" in name or "%" in name:
            name = unquote(name.replace("+", " "))
        if "+" in value or "%" in value:
            value = unquote(value.replace("+", " "))
        form.add(name, value)
    return form


def _read_form(environ: dict[str, Any], length: int) -> FormValues:
    """The POSTed form; empty when it cannot be read (the signature check then refuses it)."""
    try:
        body = environ["wsgi.input"].read(length) if length else b""
    except (OSError, ValueError):
        log.warning("could not read the body of %s", PATH)
        return FormValues()
    content_type = environ.get("CONTENT_TYPE", "")
    if not content_type.startswith(FORM_TYPE):
        return FormValues()
    # As werkzeug parses forms: percent-decoded as UTF-8, undecodable bytes replaced.
    return parse_form(body.decode("utf-8", "replace"))


def _signed_url(environ: dict[str, Any], base_url: str | None) -> str:
    """The URL Twilio signed (see signature.signed_url): PUBLIC_BASE_URL + path + query."""
    if not base_url:
        return get_current_url(environ)
    query = environ.get("QUERY_STRING", "")
    return base_url.rstrip("/") + PATH + (f"?{query}" if query else "")


def _plain(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
