"""Mail senders: SendGrid's v3 API, and the development backend where nothing leaves.

A sender turns one outbox row into one delivery attempt and reports the outcome as a
return value (accepted, with the provider's message id) or an exception that says
whether trying again later can help. Senders never touch the database.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from sendgrid.helpers.mail import (
    Attachment,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Mail,
    ReplyTo,
    To,
)

from models import OutboundEmail

# SendGrid custom_args key carrying our outbox idempotency key (read back from events).
IDEMPOTENCY_ARG = "switchboard_key"


@dataclass(frozen=True)
class SendResult:
    message_id: str | None


class SendFailed(Exception):
    """The provider did not accept the email; ``message`` is shown in the console."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RetryLater(SendFailed):
    """A temporary failure (429, 5xx, timeout, connection): try again later.

    ``not_before`` is the earliest time the provider asked us to come back, if it said.
    """

    def __init__(self, message: str, not_before: datetime | None = None):
        super().__init__(message)
        self.not_before = not_before


class Rejected(SendFailed):
    """The provider refused this email (4xx other than 429): retrying will not help."""


class Sender(Protocol):
    name: str

    def send(self, email: OutboundEmail) -> SendResult: ...


class DevelopmentSender:
    """No SENDGRID_API_KEY: the email stays in the outbox, readable in the console."""

    name = "development"

    def send(self, email: OutboundEmail) -> SendResult:
        return SendResult(message_id=f"dev-{email.id}")


# SendGrid can take up to 30 s to answer (PRODUCT.md §6): such an answer is waited for,
# never given up on and sent again. The outbox lease must outlast connect + read.
CONNECT_TIMEOUT_S = 3.05
READ_TIMEOUT_S = 35.0


class SendGridSender:
    """``POST /v3/mail/send`` over one pooled HTTP session with connect/read timeouts."""

    name = "sendgrid"

    def __init__(
        self,
        *,
        api_key: str,
        mail_from: str,
        host: str = "https://api.sendgrid.com",
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        pool_size: int = 10,
    ):
        self.url = f"{host.rstrip('/')}/v3/mail/send"
        from_name, from_email = parseaddr(mail_from)
        if not from_email:
            raise ValueError(f"MAIL_FROM has no email address: {mail_from!r}")
        self.from_email = from_email
        self.default_from_name = from_name or None
        self.timeout = (connect_timeout, read_timeout)
        # The longest one request may take; the outbox only starts one its lease covers.
        self.max_request_seconds = connect_timeout + read_timeout
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.http.mount("https://", adapter)
        self.http.mount("http://", adapter)
        self.http.headers.update(
            {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        )

    def payload(self, email: OutboundEmail) -> dict[str, Any]:
        """The v3 request body, built with sendgrid's own mail helpers."""
        mail = Mail(
            from_email=From(self.from_email, email.from_name or self.default_from_name),
            to_emails=To(email.to_email, email.to_name),
            subject=email.subject,
            plain_text_content=email.text_body,
            html_content=email.html_body,
        )
        if email.reply_to:
            mail.reply_to = ReplyTo(email.reply_to, email.from_name)
        mail.custom_arg = CustomArg(IDEMPOTENCY_ARG, email.idempotency_key)
        for item in email.attachments or ():
            content = item["content"]
            raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
            mail.attachment = Attachment(
                FileContent(base64.b64encode(raw).decode("ascii")),
                FileName(item["filename"]),
                FileType(item.get("content_type") or "application/octet-stream"),
                Disposition("attachment"),
            )
        return mail.get()

    def send(self, email: OutboundEmail) -> SendResult:
        try:
            response = self.http.post(self.url, json=self.payload(email), timeout=self.timeout)
        except requests.Timeout:
            raise RetryLater("SendGrid did not answer in time") from None
        except requests.ConnectionError as exc:
            raise RetryLater(f"could not reach SendGrid: {exc.__class__.__name__}") from None
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(message_id=response.headers.get("X-Message-Id"))
        reason = _error_message(response)
        if status == 429:
            raise RetryLater(f"SendGrid rate limit (429): {reason}", _reset_time(response))
        if status >= 500:
            raise RetryLater(f"SendGrid error {status}: {reason}")
        raise Rejected(f"SendGrid refused the email ({status}): {reason}")

    def close(self) -> None:
        self.http.close()


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:500]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        parts = []
        for error in errors:
            if isinstance(error, dict):
                field = error.get("field")
                message = error.get("message") or ""
                parts.append(f"{field}: {message}" if field else message)
        if parts:
            return "; ".join(parts)[:500]
    return str(body)[:500]


def _reset_time(response: requests.Response) -> datetime | None:
    raw = response.headers.get("X-RateLimit-Reset")
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC) if raw else None
    except (ValueError, OverflowError, OSError):
        return None


def sender_from_config(config: Any, *, pool_size: int = 10) -> Sender:
    """SendGrid when SENDGRID_API_KEY is set, else the development backend."""
    if getattr(config, "SENDGRID_API_KEY", ""):
        return SendGridSender(
            api_key=config.SENDGRID_API_KEY,
            mail_from=config.MAIL_FROM,
            host=config.SENDGRID_API_HOST,
            connect_timeout=getattr(config, "SENDGRID_CONNECT_TIMEOUT_SECONDS", CONNECT_TIMEOUT_S),
            read_timeout=getattr(config, "SENDGRID_READ_TIMEOUT_SECONDS", READ_TIMEOUT_S),
            pool_size=pool_size,
        )
    return DevelopmentSender()
