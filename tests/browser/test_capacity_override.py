"""An account manager moves an ETA onto a full day: she sees the days with room, tries one,
then chooses the full day anyway with a reason, and the job shows the override."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import Role, utcnow
from notifications.capacity import set_per_day
from notifications.jobs import JobSettings, create_job
from tests.browser.conftest import log_in, shot
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_choose_an_eta_on_a_full_day_see_alternatives_and_override(live_server, page):
    today = datetime.now(ZoneInfo("America/New_York")).date()
    full, later = today + timedelta(days=2), today + timedelta(days=6)
    with live_server.session() as session:
        carol = make_user(
            session,
            role=Role.ACCOUNT_MANAGER,
            email="carol@example.com",
            name="Carol King",
            capacity=10,
        )
        set_per_day(session, 1, actor="test")
        for reference, eta in (("FULL-1", full), ("MOVE-1", later)):
            create_job(
                session,
                reference=reference,
                customer={"name": f"Customer {reference}", "email": f"{reference}@example.com"},
                eta=eta.isoformat(),
                account_manager_email=carol.email,
                actor="test",
                settings=JobSettings(timezone="America/New_York"),
                now=utcnow(),
            )
        session.commit()

    log_in(page, "carol@example.com")
    page.goto("/jobs/MOVE-1")
    form = page.get_by_role("form", name="Change the ETA of MOVE-1")
    # The coming days show booked / capacity; the full one is marked.
    assert form.locator(f'.capacity-day.full[data-date="{full.isoformat()}"]').count() == 1

    form.get_by_label("New ETA date").fill(full.isoformat())
    refused = form.locator(".capacity-refused")
    refused.wait_for()
    assert "fully booked (1 of 1)" in refused.inner_text()
    offered = form.locator(".capacity-alternative")
    offered.first.wait_for()
    assert [offered.nth(i).get_attribute("data-date") for i in range(offered.count())] == [
        (full + timedelta(days=n)).isoformat() for n in (1, 2, 3)
    ]
    shot(page, "capacity-full-day")

    # One click on a day with room chooses it.
    offered.first.click()
    assert form.get_by_label("New ETA date").input_value() == (full + timedelta(days=1)).isoformat()
    form.locator(".capacity-room").wait_for()
    assert form.locator(".capacity-override").is_hidden()

    # Back to the full day, chosen anyway: the reason is required.
    form.get_by_label("New ETA date").fill(full.isoformat())
    form.locator(".capacity-refused").wait_for()
    form.get_by_label("Reason (the customer reads it)").fill("The customer asked for it sooner")
    form.get_by_label("Choose this full day anyway").fill("Opening day of their new store")
    form.get_by_role("button", name="Choose anyway").click()

    page.wait_for_url("**/jobs/MOVE-1")
    page.get_by_text("1 full-day override").wait_for()
    history = page.locator("tr.eta-override")
    assert history.count() == 1
    text = history.inner_text()
    assert "Opening day of their new store" in text
    assert "1/1" in text
    assert "carol@example.com" in text
    assert page.get_by_text("full day, overridden").count() == 1
    shot(page, "capacity-overridden")
