"""Shared arrangements for the desk's service tests: a New York organisation on a Monday."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import OrgSettings, Role
from routing.desk.disposition import DeskSettings
from tests.factories import make_business_hours, make_salesperson, make_user

ZONE = ZoneInfo("America/New_York")
# Monday 23 November 2026, 09:00 in New York.
MONDAY_9AM = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> DeskSettings:
    return DeskSettings(zone=ZONE, region="US", mail_from="Acme Sales <sales@acme.example.com>")


@pytest.fixture
def org(db_session):
    """Hours 09:00–17:00 Monday to Friday, a dial-in number, a supervisor."""
    make_business_hours(db_session, opens=time(9, 0), closes=time(17, 0))
    # The settings row may exist already: directory changes bump its version.
    row = db_session.scalar(select(OrgSettings).order_by(OrgSettings.id)) or OrgSettings()
    row.name = "Acme"
    row.timezone = "America/New_York"
    row.teleconference_number = "+16465550100"
    row.supervisor_email = "boss@acme.example.com"
    db_session.add(row)
    db_session.flush()
    return db_session


@pytest.fixture
def coordinator(db_session):
    return make_user(db_session, role=Role.COORDINATOR, name="Cora Coordinator")


@pytest.fixture
def alice(db_session):
    return make_salesperson(db_session, name="Alice Seller", email="alice@acme.example.com")
