"""Every request under /twilio/ must be signed by Twilio (PRODUCT.md section 3, fixed).

Registered app-wide as a ``before_request`` hook, so webhooks of every area (voice,
console transfers, click-to-call) are checked the same way before any view runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask, Response, current_app, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    compare,
    get_signature_algorithm,
)

log = logging.getLogger(__name__)

PREFIX = "/twilio/"
EXTENSION = "switchboard_twilio_validator"


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = RequestValidator(app.config["TWILIO_AUTH_TOKEN"] or "")
    app.before_request(_require_twilio_signature)


def is_signed(
    validator: RequestValidator,
    url: str,
    params: Mapping[str, str],
    signature: str,
    settings_header: str | None,
) -> bool:
    """Whether ``signature`` is Twilio's for ``url`` and ``params`` (RequestValidator's rule)."""
    if not signature:
        return False
    algorithm = get_signature_algorithm(settings_header)
    # The exact URL matches almost always; validate() also tries it with and without the
    # default port (Twilio is inconsistent there) but computes both every time.
    if compare(validator.compute_signature(url, params, algorithm), signature):
        return True
    return validator.validate(url, params, signature, algorithm)


def log_refusal(method: str, path: str, reason: str, url: str, remote: str | None) -> None:
    log.warning(
        "refused %s %s: %s Twilio signature (signed URL %s, from %s)",
        method,
        path,
        reason,
        url,
        remote,
    )


FORBIDDEN = "Forbidden: invalid Twilio signature\n"


def signed_url(base_url: str | None) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path (+ query), else the URL we received.

    Behind a proxy or TLS terminator the URL Flask sees (http://10.0.0.5:8000/...) is not
    the one Twilio requested (https://switchboard.example.com/...).
    """
    if not base_url:
        return request.url
    query = request.query_string.decode("latin-1")
    return base_url.rstrip("/") + request.path + (f"?{query}" if query else "")


def _require_twilio_signature() -> Response | None:
    if not request.path.startswith(PREFIX):
        return None
    signature = request.headers.get(SIGNATURE_HEADER, "")
    url = signed_url(current_app.config.get("PUBLIC_BASE_URL"))
    validator: RequestValidator = current_app.extensions[EXTENSION]
    params = request.form if request.method == "POST" else {}
    if current_app.config["TWILIO_AUTH_TOKEN"] and is_signed(
        validator, url, params, signature, request.headers.get(SIGNATURE_SETTINGS_HEADER)
    ):
        return None
    reason = "bad" if signature and current_app.config["TWILIO_AUTH_TOKEN"] else "missing"
    log_refusal(request.method, request.path, reason, url, request.remote_addr)
    return Response(FORBIDDEN, 403, mimetype="text/plain")
