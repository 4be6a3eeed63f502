"""The call a coordinator answers opens its screen-pop wherever she is in the console, once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from sqlalchemy import select

from models import Call
from tests.browser.conftest import log_in, press_one, ring, shot

pytestmark = pytest.mark.browser

CALLER = "+12025550188"
POLL = "**/calls/live.json"


def _call_id(live_server, sid: str) -> int:
    with live_server.session() as session:
        return session.scalar(select(Call.id).where(Call.call_sid == sid))


def _stays_through_two_polls(page, call_id: int) -> None:
    """Her call is still the one to pop up, yet the page's watcher leaves her where she is."""
    assert page.request.get("/calls/live.json").json()["pop_call_id"] == call_id
    here = page.url
    for _ in range(2):
        try:
            with page.expect_response(POLL, timeout=4000):
                pass
        except PlaywrightTimeoutError:
            pytest.fail(f"the page stopped polling: it went to {page.url}")
    assert page.url == here


def test_call_she_answers_pops_up_on_the_customers_page(page, live_server, office):
    log_in(page, office.coordinator_email)
    page.goto("/customers")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()

    sid = "CA" + "d" * 32
    ring(live_server, office, sid, CALLER)
    call_id = _call_id(live_server, sid)
    with page.expect_response(POLL, timeout=4000):
        pass
    assert page.url.endswith("/customers")  # a ringing call is nobody's yet

    press_one(live_server, office, sid)
    page.wait_for_url(re.compile(rf"/calls/{call_id}$"), timeout=4500)  # polled every 2 s
    expect(page.get_by_role("heading", name="New caller")).to_be_visible()
    expect(page.locator("#call-state")).to_have_text("in progress")
    shot(page, "09-screen-pop-from-customers")

    # She looks something up while the caller talks: the screen-pop does not come back.
    page.get_by_label("Search customers and jobs").fill("Dana")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=Dana")
    _stays_through_two_polls(page, call_id)


def test_screen_pop_she_opened_herself_is_not_forced_on_her_again(page, live_server, office):
    sid = "CA" + "e" * 32
    ring(live_server, office, sid, CALLER)
    call_id = _call_id(live_server, sid)
    log_in(page, office.coordinator_email)
    page.goto(f"/calls/{call_id}")  # opened from the live calls while it rang
    expect(page.locator("#call-state")).to_have_text("ringing")

    press_one(live_server, office, sid)
    expect(page.locator("#call-state")).to_have_text("in progress", timeout=4500)

    page.goto("/customers")
    _stays_through_two_polls(page, call_id)


def test_a_call_taken_while_she_types_is_offered_not_forced(page, live_server, office):
    log_in(page, office.coordinator_email)
    page.goto("/customers")
    search = page.get_by_label("Search customers and jobs")
    search.fill("Dana Wh")  # not sent yet

    sid = "CA" + "f" * 32
    ring(live_server, office, sid, CALLER)
    call_id = _call_id(live_server, sid)
    press_one(live_server, office, sid)
    notice = page.get_by_role("alert").filter(has_text="You took a call")
    expect(notice).to_be_visible(timeout=4500)  # polled every 2 s
    assert page.url.endswith("/customers")
    expect(search).to_have_value("Dana Wh")
    shot(page, "10-call-offered-while-typing")

    notice.get_by_role("link", name="Open its screen-pop").click()
    page.wait_for_url(re.compile(rf"/calls/{call_id}$"))
    expect(page.locator("#call-state")).to_have_text("in progress")
