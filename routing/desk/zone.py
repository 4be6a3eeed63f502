"""The organisation's time zone: everything is stored in UTC and shown in this zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OrgSettings


def org_zone(session: Session, default: str = "UTC") -> ZoneInfo:
    """The zone from the settings row if an admin set one, else ``default`` (TIMEZONE)."""
    name = session.scalar(select(OrgSettings.timezone).order_by(OrgSettings.id).limit(1))
    try:
        return ZoneInfo(name or default)
    except (KeyError, ValueError):
        return ZoneInfo(default)
