"""What every console view needs: the org's zone, desk settings, absolute URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from models.contact import format_phone

from ..clock import request_now
from ..database import get_session
from ..desk.disposition import DeskSettings
from ..desk.zone import org_zone


def zone() -> ZoneInfo:
    """The organisation's zone, read once per request."""
    if "org_zone" not in g:
        default = current_app.config.get("TIMEZONE") or "UTC"
        try:
            g.org_zone = org_zone(get_session(), default)
        except SQLAlchemyError:
            # Error pages still render when the database is down.
            get_session().rollback()
            g.org_zone = ZoneInfo(default)
    return g.org_zone


def public_url(path: str) -> str:
    """An absolute URL Twilio or an email reader can open: PUBLIC_BASE_URL, else ours."""
    base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root
    return base.rstrip("/") + path


def desk_settings() -> DeskSettings:
    from notifications.jobs import JobSettings

    config = current_app.config["SWITCHBOARD_CONFIG"]
    return DeskSettings(
        zone=zone(),
        region=current_app.config.get("DEFAULT_REGION", "US"),
        mail_from=current_app.config.get("MAIL_FROM", "switchboard@example.com"),
        console_url=public_url(""),
        job_settings=JobSettings.from_config(config),
    )


def _local(moment: datetime | None, fmt: str = "%a %d %b %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(zone()).strftime(fmt)


def _countdown(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{minutes}:{secs:02d}"


def job_url(job: Any) -> str | None:
    """The jobs area's page for ``job``, when that page exists in this app."""
    for endpoint, arg in (("jobs.detail", "reference"), ("console.job_detail", "reference")):
        if endpoint in current_app.view_functions:
            return url_for(endpoint, **{arg: job.reference})
    return None


def init_app(app: Flask) -> None:
    app.add_template_global(job_url, "job_url")
    app.add_template_global(request_now, "server_now")
    app.add_template_filter(_local, "local")
    app.add_template_filter(format_phone, "phone")
    app.add_template_filter(_countdown, "countdown")

    @app.context_processor
    def _zone_name() -> dict[str, Any]:
        if request.path.startswith(("/twilio/", "/api/", "/static/", "/healthz")):
            return {}
        return {"org_zone_name": zone().key}
