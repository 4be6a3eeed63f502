"""A real Switchboard server and Debian's chromium, driven by Playwright.

The server runs in a thread (werkzeug) on 127.0.0.1 with a SQLite file of its own and
real commits, so the browser, the webhooks and the test all see the same rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from models import OrgSettings, Role, make_engine
from routing import create_app
from routing.cli.db import upgrade
from tests.conftest import make_test_config
from tests.factories import make_business_hours, make_salesperson, make_user
from tests.twilio_signing import twilio_signature

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    engine: object

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def twilio(self, path: str, params: dict[str, str]) -> requests.Response:
        """POST a webhook signed exactly as Twilio signs it (the URL it requested)."""
        signature = twilio_signature(self.url + path, params)
        response = requests.post(
            self.url + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    upgrade(url)
    app = create_app(make_test_config(url, TIMEZONE="America/New_York"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    engine = make_engine(url)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", engine=engine)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        engine.dispose()
        from routing.database import get_db

        get_db(app).engine.dispose()


@dataclass
class Office:
    coordinator_id: int
    coordinator_email: str
    salesperson_id: int
    salesperson_email: str
    twilio_number: str


@pytest.fixture
def office(live_server: LiveServer) -> Office:
    """One coordinator on duty, Alice's diverted line, open around the clock every day."""
    with live_server.session() as session:
        make_business_hours(session, opens=time(0, 0), closes=time(23, 59, 59), days=7)
        cora = make_user(
            session,
            role=Role.COORDINATOR,
            email="cora@example.com",
            name="Cora Coordinator",
            phone="+14155550101",
        )
        alice = make_salesperson(
            session,
            name="Alice Seller",
            email="alice@example.com",
            twilio_number="+16465550111",
            public_number="+13125550111",
        )
        settings = session.scalar(select(OrgSettings)) or OrgSettings()
        settings.teleconference_number = "+16465550100"
        settings.enquiry_sla_minutes = 15
        session.add(settings)
        session.commit()
        return Office(cora.id, cora.email, alice.id, alice.email, alice.lines[0].twilio_number)


def ring(live_server: LiveServer, office: Office, sid: str, caller: str) -> None:
    """A call from ``caller`` arrives on Alice's line and rings the coordinators."""
    live_server.twilio(
        "/twilio/voice/incoming",
        {
            "CallSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": office.twilio_number,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        },
    )


def press_one(live_server: LiveServer, office: Office, sid: str) -> None:
    """The coordinator presses 1 after the whisper: the call is hers."""
    live_server.twilio(
        f"/twilio/voice/whisper-answer?call={sid}&coordinator={office.coordinator_id}",
        {"CallSid": "CA" + "b" * 32, "ParentCallSid": sid, "Digits": "1"},
    )


@pytest.fixture
def page(live_server: LiveServer):
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1366, "height": 800}
        )
        page = context.new_page()
        page.set_default_timeout(5000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def log_in(page, email: str) -> None:
    from tests.factories import DEFAULT_PASSWORD

    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
