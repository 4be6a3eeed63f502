"""The console works under its Content-Security-Policy: no page needs an inline script.

Chromium enforces the policy the server sends; every page a coordinator and an admin use
is opened with a listener for ``securitypolicyviolation`` events and console errors, and
the page's own behaviour (live refresh, countdowns, the disposition form) is checked on
the way.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Call, Enquiry, OutboundEmail, Role, utcnow
from notifications.jobs import JobSettings, create_job
from tests.browser.conftest import log_in, press_one, ring
from tests.factories import make_user

pytestmark = pytest.mark.browser

CALLER = "+12025550177"
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " blocked " + event.blockedURI);
});
"""


@pytest.fixture
def watched(page):
    """The page, with every CSP violation and console error it reports collected."""
    errors: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)

    def console_error(message) -> None:
        # Chromium asks for /favicon.ico on its own; there is none (404), which is no error.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", console_error)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    return page


def visit(page, path: str) -> None:
    """Open ``path``; its policy has no unsafe-inline script and nothing broke it."""
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    policy = response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in policy
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__cspViolations") == [], path
    assert page.errors == [], path


def _missed_call(live_server, office, sid: str) -> None:
    common = {"CallSid": sid, "From": CALLER, "To": office.twilio_number}
    ring(live_server, office, sid, CALLER)
    live_server.twilio(
        "/twilio/voice/dial-complete?round=1",
        {**common, "CallStatus": "in-progress", "DialCallStatus": "no-answer"},
    )
    live_server.twilio(
        "/twilio/voice/status",
        {**common, "CallStatus": "completed", "CallDuration": "20", "SequenceNumber": "4"},
    )


def test_console_pages_run_under_the_policy_without_a_violation(watched, live_server, office):
    page = watched
    _missed_call(live_server, office, "CA" + "e" * 32)
    answered = "CA" + "f" * 32
    ring(live_server, office, answered, "+12025550178")
    press_one(live_server, office, answered)
    with live_server.session() as session:
        make_user(session, role=Role.ACCOUNT_MANAGER, email="bob@example.com", capacity=5)
        make_user(session, role=Role.ADMIN, email="ada@example.com", name="Ada Admin")
        create_job(
            session,
            reference="ORD-9",
            customer={"name": "Dana Buyer", "email": "dana@example.com"},
            eta=(utcnow() + timedelta(days=5)).date().isoformat(),
            account_manager_email="bob@example.com",
            actor="test",
            settings=JobSettings(),
            now=utcnow(),
        )
        session.commit()
        call_id = session.scalar(select(Call.id).where(Call.call_sid == answered))
        enquiry_id = session.scalar(select(Enquiry.id))
        email_id = session.scalar(select(OutboundEmail.id).order_by(OutboundEmail.id))

    page.goto("/login")
    assert page.evaluate("window.__cspViolations") == []
    log_in(page, office.coordinator_email)

    # The screen-pop: its disposition form shows only the chosen outcome's fields.
    visit(page, f"/calls/{call_id}")
    page.get_by_label("Appointment with the salesperson").check()
    expect(page.get_by_label(re.compile("Free slot"))).to_be_visible()
    expect(page.get_by_role("group", name="Teleconference")).to_be_hidden()
    # Live calls refresh by themselves; the missed-enquiry countdown runs.
    visit(page, "/calls/live")
    with page.expect_response("**/calls/live.json", timeout=3000):
        pass
    visit(page, "/enquiries")
    countdown = page.locator("#enquiries .countdown").first
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=2500)
    for path in (
        "/",
        f"/enquiries/{enquiry_id}",
        "/customers",
        "/search?q=Dana",
        "/jobs",
        "/jobs/ORD-9",
        "/outbox",
        f"/outbox/{email_id}",  # the email's HTML body in a sandboxed frame
        "/tasks",
        "/salespeople",
        f"/salespeople/{office.salesperson_id}/calendar",
    ):
        visit(page, path)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    log_in(page, "ada@example.com")
    for path in ("/admin/", "/admin/users", "/admin/hours", "/admin/settings", "/reports/"):
        visit(page, path)
    visit(page, "/admin/tokens")
    page.get_by_label("What will use it").fill("ERP")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token")
    token.focus()  # selects the whole token, ready to copy (no inline onfocus any more)
    assert token.evaluate("el => el.selectionEnd - el.selectionStart") > 20
    assert page.evaluate("window.__cspViolations") == [] and page.errors == []

    # The listener is not blind: an inline script is refused, and reported.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("window.__cspViolations")
