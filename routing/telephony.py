"""Controlling live calls through Twilio's REST API, behind a small interface.

The real controller is built once per app, on first use (never at import time), with an
HTTP timeout: twilio-python waits forever by default. Tests keep it and fake Twilio at the
HTTP layer with ``responses``, so the requests Twilio would receive are checked.
"""

from __future__ import annotations

from typing import Protocol

import requests
from flask import Flask, current_app
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .errors import SwitchboardError

EXTENSION = "switchboard_telephony"
TIMEOUT_SECONDS = 10


class TelephonyError(SwitchboardError):
    """Twilio refused or could not be reached; the message says what to do instead."""

    status_code = 502


class CallController(Protocol):
    def redirect_call(self, call_sid: str, url: str) -> None:
        """Make a live call fetch new TwiML from ``url`` (absolute) and follow it."""

    def place_call(self, *, to: str, from_: str, url: str) -> str:
        """Start an outgoing call to ``to``; when answered it runs the TwiML at ``url``."""


class TwilioCallController:
    def __init__(self, account_sid: str, auth_token: str, timeout: float = TIMEOUT_SECONDS):
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._timeout = timeout
        self._client: Client | None = None

    def _rest(self) -> Client:
        if not self._account_sid:
            raise TelephonyError(
                "Twilio is not configured (TWILIO_ACCOUNT_SID is not set): the call cannot "
                "be controlled from the console."
            )
        if self._client is None:
            self._client = Client(
                self._account_sid,
                self._auth_token,
                http_client=TwilioHttpClient(timeout=self._timeout),
            )
        return self._client

    def redirect_call(self, call_sid: str, url: str) -> None:
        try:
            self._rest().calls(call_sid).update(url=url, method="POST")
        except TwilioException as exc:
            raise TelephonyError(f"Twilio refused to transfer the call: {exc}") from None
        except requests.RequestException:
            raise TelephonyError("Twilio could not be reached to transfer the call.") from None

    def place_call(self, *, to: str, from_: str, url: str) -> str:
        try:
            call = self._rest().calls.create(to=to, from_=from_, url=url, method="POST")
        except TwilioException as exc:
            raise TelephonyError(f"Twilio refused to place the call: {exc}") from None
        except requests.RequestException:
            raise TelephonyError("Twilio could not be reached to place the call.") from None
        return call.sid


def get_call_controller(app: Flask | None = None) -> CallController:
    """The app's controller, built on first use from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN."""
    app = app or current_app
    controller = app.extensions.get(EXTENSION)
    if controller is None:
        controller = TwilioCallController(
            app.config.get("TWILIO_ACCOUNT_SID", ""), app.config.get("TWILIO_AUTH_TOKEN", "")
        )
        app.extensions[EXTENSION] = controller
    return controller
