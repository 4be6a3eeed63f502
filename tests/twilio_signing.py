"""Sign test requests exactly as Twilio signs its webhooks.

Twilio computes HMAC-SHA1 with the account's auth token over the full URL it requested
(scheme, host, port, path, query) followed by every POST parameter name and value,
sorted by name, and sends it base64-encoded in ``X-Twilio-Signature``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator

# The token tests.conftest.make_test_config gives the app.
TEST_AUTH_TOKEN = "test-auth-token"
# Flask's test client requests http://localhost/...; Twilio would sign that URL.
TEST_BASE_URL = "http://localhost"


def twilio_signature(url: str, params: Mapping[str, str], token: str = TEST_AUTH_TOKEN) -> str:
    """The ``X-Twilio-Signature`` Twilio would send for a POST of ``params`` to ``url``."""
    return RequestValidator(token).compute_signature(url, dict(params))


def signed_post(
    client: Any,
    path: str,
    params: Mapping[str, str] | None = None,
    *,
    base_url: str = TEST_BASE_URL,
    token: str = TEST_AUTH_TOKEN,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """POST form ``params`` to ``path`` (may carry a query) with a valid signature.

    ``base_url`` is the public URL Twilio used (set it to the app's PUBLIC_BASE_URL when
    the app is configured with one); the request itself goes to the test client.
    """
    params = dict(params or {})
    signature = twilio_signature(base_url.rstrip("/") + path, params, token)
    all_headers = {"X-Twilio-Signature": signature, **(headers or {})}
    return client.post(path, data=params, headers=all_headers)
