"""Configuration for every Switchboard process, read from the environment in one place.

Nothing here runs at import time: call :func:`load_config` when a process starts.
The variable names are part of the product's contract (PRODUCT.md section 7).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

ENVIRONMENTS = ("development", "production", "test")
_E164 = re.compile(r"^\+[1-9][0-9]{3,14}$")


class ConfigError(Exception):
    """The environment does not describe a process that can start."""


def _split_numbers(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _as_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _as_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


class Config:
    """Settings shared by every environment. Subclasses change defaults and checks."""

    ENV_NAME = "development"
    DEBUG = False
    TESTING = False

    def __init__(self, environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None):
        instance = Path(environ.get("SWITCHBOARD_INSTANCE_PATH") or Path.cwd() / "instance")
        self.INSTANCE_PATH = str(instance)
        self.DATABASE_URL = environ.get("DATABASE_URL") or self.default_database_url(instance)
        self.SECRET_KEY = environ.get("SECRET_KEY") or self.default_secret_key()
        self.PUBLIC_BASE_URL = (environ.get("PUBLIC_BASE_URL") or "").rstrip("/") or None
        self.TWILIO_ACCOUNT_SID = environ.get("TWILIO_ACCOUNT_SID") or ""
        self.TWILIO_AUTH_TOKEN = environ.get("TWILIO_AUTH_TOKEN") or self.default_auth_token()
        self.SENDGRID_API_KEY = environ.get("SENDGRID_API_KEY") or ""
        self.SENDGRID_API_HOST = (
            environ.get("SENDGRID_API_HOST") or "https://api.sendgrid.com"
        ).rstrip("/")
        self.SENDGRID_EVENT_PUBLIC_KEY = environ.get("SENDGRID_EVENT_PUBLIC_KEY") or ""
        self.MAIL_FROM = environ.get("MAIL_FROM") or "Switchboard <switchboard@example.com>"
        self.TIMEZONE = environ.get("TIMEZONE") or "UTC"
        self.DEFAULT_REGION = (environ.get("DEFAULT_REGION") or "US").upper()
        self.FALLBACK_NUMBERS = _split_numbers(environ.get("FALLBACK_NUMBERS"))
        # Tuning knobs with safe defaults; not part of the fixed contract.
        self.ETA_SETTLE_MINUTES = _as_int(environ, "ETA_SETTLE_MINUTES", 10)
        self.ENQUIRY_SLA_MINUTES = _as_int(environ, "ENQUIRY_SLA_MINUTES", 15)
        self.RING_TIMEOUT_SECONDS = _as_int(environ, "RING_TIMEOUT_SECONDS", 20)
        self.DB_STATEMENT_TIMEOUT_MS = _as_int(environ, "DB_STATEMENT_TIMEOUT_MS", 3000)
        self.DB_CONNECT_TIMEOUT_S = _as_int(environ, "DB_CONNECT_TIMEOUT_S", 3)
        # Email delivery (PRODUCT.md §6). A worker's claim on an email lasts the lease and
        # is renewed every heartbeat while it lives; SendGrid's answer is awaited up to the
        # read timeout (its slow answers take up to 30 s). Production keeps the defaults;
        # the reliability suite shortens them.
        self.OUTBOX_LEASE_SECONDS = _as_seconds(environ, "OUTBOX_LEASE_SECONDS", 45.0)
        self.OUTBOX_HEARTBEAT_SECONDS = _as_seconds(environ, "OUTBOX_HEARTBEAT_SECONDS", 5.0)
        self.OUTBOX_SWEEP_SECONDS = _as_seconds(environ, "OUTBOX_SWEEP_SECONDS", 2.0)
        self.OUTBOX_RETRY_BASE_SECONDS = _as_seconds(environ, "OUTBOX_RETRY_BASE_SECONDS", 30.0)
        self.OUTBOX_RETRY_CAP_SECONDS = _as_seconds(environ, "OUTBOX_RETRY_CAP_SECONDS", 7200.0)
        self.OUTBOX_MAX_ATTEMPTS = _as_int(environ, "OUTBOX_MAX_ATTEMPTS", 8)
        self.SENDGRID_CONNECT_TIMEOUT_SECONDS = _as_seconds(
            environ, "SENDGRID_CONNECT_TIMEOUT_SECONDS", 3.05
        )
        self.SENDGRID_READ_TIMEOUT_SECONDS = _as_seconds(
            environ, "SENDGRID_READ_TIMEOUT_SECONDS", 35.0
        )
        # A console login lasts a working day, not Flask's default month.
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=_as_int(environ, "SESSION_HOURS", 12))
        self.SESSION_COOKIE_NAME = "switchboard_session"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = False
        self.WTF_CSRF_TIME_LIMIT = None
        # Proxies in front of the web process that append X-Forwarded-For: the login
        # throttle's per-address limit counts the client's address, not theirs.
        self.TRUSTED_PROXIES = _as_int(environ, "TRUSTED_PROXIES", 0)
        # Directory CSV uploads on the admin pages; webhooks are far smaller.
        self.MAX_CONTENT_LENGTH = 32 * 1024 * 1024
        if overrides:
            for key, value in overrides.items():
                setattr(self, key, value)
        self.validate()

    def default_database_url(self, instance: Path) -> str:
        return f"sqlite:///{instance / 'switchboard.sqlite3'}"

    def default_secret_key(self) -> str:
        return "development-secret-key-not-for-production"

    def default_auth_token(self) -> str:
        return "development-auth-token"

    def validate(self) -> None:
        """Refuse settings the processes could not work with, naming the variable."""
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(self.TIMEZONE)
        except Exception:
            raise ConfigError(
                f"TIMEZONE is not a known time zone: {self.TIMEZONE!r} (e.g. Europe/London)"
            ) from None
        import phonenumbers

        if self.DEFAULT_REGION not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(
                f"DEFAULT_REGION must be a two-letter country code such as US or GB, "
                f"got {self.DEFAULT_REGION!r}"
            )
        for number in self.FALLBACK_NUMBERS:
            if not _E164.match(number):
                raise ConfigError(
                    f"FALLBACK_NUMBERS must be comma-separated E.164 numbers such as "
                    f"+14155550100, got {number!r}"
                )
        from email.utils import parseaddr

        address = parseaddr(self.MAIL_FROM)[1]
        if "@" not in address or " " in address:
            raise ConfigError(
                f"MAIL_FROM must be an address such as 'Switchboard <switchboard@example.com>', "
                f"got {self.MAIL_FROM!r}"
            )
        request = self.SENDGRID_CONNECT_TIMEOUT_SECONDS + self.SENDGRID_READ_TIMEOUT_SECONDS
        if self.OUTBOX_LEASE_SECONDS - self.OUTBOX_HEARTBEAT_SECONDS <= request:
            raise ConfigError(
                "OUTBOX_LEASE_SECONDS must exceed OUTBOX_HEARTBEAT_SECONDS plus SendGrid's "
                "connect and read timeouts (SENDGRID_CONNECT_TIMEOUT_SECONDS + "
                f"SENDGRID_READ_TIMEOUT_SECONDS = {request:g} s), or a slow answer could be "
                f"sent twice; got a lease of {self.OUTBOX_LEASE_SECONDS:g} s"
            )
        if self.OUTBOX_MAX_ATTEMPTS < 1:
            raise ConfigError(
                f"OUTBOX_MAX_ATTEMPTS must be at least 1, got {self.OUTBOX_MAX_ATTEMPTS}"
            )
        if self.PUBLIC_BASE_URL and not self.PUBLIC_BASE_URL.startswith(("http://", "https://")):
            raise ConfigError(
                f"PUBLIC_BASE_URL must start with https:// or http://, got {self.PUBLIC_BASE_URL!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        """Every upper-case setting, as Flask's ``app.config`` wants it."""
        names = {n for n in dir(self) if n.isupper()}
        return {name: getattr(self, name) for name in sorted(names)}


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False


class TestConfig(Config):
    # Not a test case, whatever pytest's name-based collection thinks.
    __test__ = False
    ENV_NAME = "test"
    TESTING = True

    def default_database_url(self, instance: Path) -> str:
        return "sqlite://"

    def default_auth_token(self) -> str:
        return "test-auth-token"


class ProductionConfig(Config):
    ENV_NAME = "production"

    def default_secret_key(self) -> str:
        return ""

    def default_auth_token(self) -> str:
        return ""

    def validate(self) -> None:
        super().validate()
        for name in ("SECRET_KEY", "TWILIO_AUTH_TOKEN"):
            if not getattr(self, name):
                raise ConfigError(f"{name} must be set when SWITCHBOARD_ENV=production")
        self.SESSION_COOKIE_SECURE = True
        self.PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


def read_environment(dotenv_path: str | os.PathLike[str] | None = ".env") -> dict[str, str]:
    """The process environment over an optional ``.env`` file (the environment wins)."""
    merged: dict[str, str] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_config(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    env_name: str | None = None,
) -> Config:
    """Build the configuration for ``SWITCHBOARD_ENV`` (or ``env_name``)."""
    environ = read_environment() if environ is None else environ
    name = (env_name or environ.get("SWITCHBOARD_ENV") or "development").strip().lower()
    if name not in CONFIGS:
        raise ConfigError(f"SWITCHBOARD_ENV must be one of {', '.join(ENVIRONMENTS)}, got {name!r}")
    return CONFIGS[name](environ, overrides)
