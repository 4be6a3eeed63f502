"""Shared arrangements for the voice webhook tests (no tests of its own)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from models import Job, OrgSettings, Role
from tests.factories import make_customer, make_salesperson, make_user
from tests.twilio_signing import signed_post

_sids = itertools.count(1)


def new_sid(prefix: str = "CA") -> str:
    return f"{prefix}{next(_sids):032d}"


def parse(response) -> ET.Element:
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root


def said(root: ET.Element) -> str:
    return " ".join(el.text or "" for el in root.iter("Say"))


def post(client, path: str, **params: str):
    return signed_post(client, path, params)


@dataclass
class Office:
    alice_line: str
    alice_name: str
    customer_phone: str
    coordinators: list
    manager_name: str


def make_office(session, *, coordinators: int = 2) -> Office:
    alice = make_salesperson(
        session, name="Alice Smith", public_number="+13125550101", twilio_number="+16465550101"
    )
    bob = make_user(
        session, role=Role.ACCOUNT_MANAGER, name="Bob Jones", phone="+14155559001", password=None
    )
    customer = make_customer(
        session, name="Carol Buyer", company="Acme Limited", phone="+12025550111", salesperson=alice
    )
    session.add(
        Job(
            reference="4711",
            customer_id=customer.id,
            account_manager_id=bob.id,
            eta_date=date(2026, 12, 1),
        )
    )
    people = [
        make_user(session, name=f"Coordinator {i}", phone=f"+1415555{7000 + i:04d}", password=None)
        for i in range(coordinators)
    ]
    session.commit()
    return Office(alice.lines[0].twilio_number, alice.name, customer.phone, people, bob.name)


def incoming(client, *, to: str, from_: str = "+12025550111", sid: str | None = None):
    sid = sid or new_sid()
    return sid, post(
        client,
        "/twilio/voice/incoming",
        CallSid=sid,
        To=to,
        From=from_,
        CallStatus="ringing",
        Direction="inbound",
    )


def org_settings(session, **fields: object) -> OrgSettings:
    """The organisation's single settings row (created if missing), updated with ``fields``."""
    settings = session.scalar(select(OrgSettings).order_by(OrgSettings.id).limit(1))
    if settings is None:
        settings = OrgSettings()
        session.add(settings)
    for name, value in fields.items():
        setattr(settings, name, value)
    session.commit()
    return settings
