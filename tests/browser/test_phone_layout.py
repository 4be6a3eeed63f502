"""The console on a phone: every page each role reaches fits 375 px, and its menu opens.

Account managers and salespeople open the console on their phones. At 375 px (the
narrowest phone still common) no page may scroll sideways, only a table inside its own
box; the top bar folds its links behind "Menu", which opens them all within the screen.
At 1366 px the top bar is the desktop one: its links on one row, no menu button.
The organisation is the demo one (`switchboard demo`), plus what a working day adds:
a call ringing, one in progress, an appointment, a task, a customer with long details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Enquiry, OutboundEmail, Salesperson, Task, TaskKind, User, utcnow
from notifications.jobs import JobSettings, create_job
from routing.desk.booking import book_appointment, free_slots
from routing.desk.zone import org_zone
from routing.setup.demo import (
    ACCOUNT_MANAGERS,
    ADMIN,
    COORDINATORS,
    DEMO_PASSWORD,
    SALESPEOPLE,
    load_demo,
)
from tests.browser.conftest import shot
from tests.factories import make_call, make_customer

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
ROLES = ["coordinator", "account manager", "admin", "salesperson"]

# What sticks out of the window, for the failure message: elements whose right edge passes
# it, except those clipped by a box that scrolls sideways (a table's, a chart's). An
# absolutely placed element escapes such a box unless the box is its containing block.
STICKING_OUT = """() => [...document.body.querySelectorAll('*')].filter(node => {
    if (node.getBoundingClientRect().right <= innerWidth + 0.5) return false;
    let free = getComputedStyle(node).position === 'absolute';
    for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
        const style = getComputedStyle(up);
        const holds = !free || style.position !== 'static';
        if (holds && ['auto', 'scroll', 'hidden'].includes(style.overflowX)) return false;
        if (holds) free = style.position === 'absolute';
    }
    return true;
}).slice(0, 5).map(node => node.outerHTML.slice(0, 120))"""


@dataclass
class Northwind:
    logins: dict[str, str]  # role → email
    pages: dict[str, list[str]]  # role → pages to visit besides the menu's


@pytest.fixture
def northwind(live_server) -> Northwind:
    with live_server.session() as session:
        return build_northwind(session, now=utcnow())


def build_northwind(session: Session, *, now: datetime) -> Northwind:
    """The demo organisation and a working day's extras, committed; who sees which pages."""
    load_demo(session, timezone="America/New_York", now=now)
    users = {u.email: u for u in session.scalars(select(User))}
    alice = session.scalar(select(Salesperson).where(Salesperson.email == SALESPEOPLE[0][1]))
    bob = users[ACCOUNT_MANAGERS[0][1]]
    day = _working_day(session, users, alice, now)
    session.commit()
    shared = [
        f"/customers/{day['customer']}",
        f"/jobs/{day['job_reference']}",
        "/jobs/NW-4712",  # a demo job whose ETA moved: its history has a row
        f"/outbox/{day['email']}",
        f"/calls/{day['call']}/timeline",
        "/search?q=Oyelaran",
    ]
    task = f"/tasks/{day['task']}"  # Bob's: only he and admins see it
    booking = f"/appointments/{day['appointment']}"
    calendar = f"/salespeople/{alice.id}/calendar"
    return Northwind(
        logins={
            "coordinator": COORDINATORS[0][1],
            "account manager": bob.email,
            "admin": ADMIN[1],
            "salesperson": alice.email,
        },
        pages={
            "coordinator": [
                *shared,
                f"/calls/{day['call']}",  # the screen-pop with the disposition form
                f"/enquiries/{session.scalar(select(Enquiry.id))}",
                booking,
                calendar,
                f"/salespeople/{alice.id}/availability",
                "/jobs/new",
            ],
            "account manager": [*shared, task, f"/jobs/{day['job']}/edit", booking, "/jobs/new"],
            "admin": [*shared, task, f"/admin/users/{bob.id}", f"/admin/salespeople/{alice.id}"],
            "salesperson": [calendar, booking],
        },
    )


def _working_day(
    session: Session, users: dict[str, User], alice: Salesperson, now: datetime
) -> dict[str, int | str]:
    """A caller with long details (they are what push a narrow page sideways), her job,
    her call in progress with Dev, another call ringing, her appointment, Bob's task."""
    cora, dev = users[COORDINATORS[0][1]], users[COORDINATORS[1][1]]
    caller = make_customer(
        session,
        name="Maximiliane Oyelaran-Whitfield",
        email="maximiliane.oyelaran-whitfield@northgate-hospitality-group.example",
        company="Northgate Hospitality Group International",
        salesperson=alice,
    )
    job = create_job(
        session,
        reference="NGH-2026-11-004217",
        customer={"name": caller.name, "email": caller.email},
        description="Banqueting chairs x120 and trolleys, delivered to the loading bay",
        eta=(now + timedelta(days=3)).date().isoformat(),
        account_manager_email=ACCOUNT_MANAGERS[0][1],
        actor="test",
        settings=JobSettings(),
        now=now,
    )
    # Dev, not Cora, took it: Cora's pages must not jump to its screen-pop mid-test.
    call = make_call(session, line=alice.lines[0], customer=caller, answered_by=dev)
    make_call(session, line=alice.lines[0], status="ringing")
    zone = org_zone(session)
    appointment = book_appointment(
        session,
        salesperson=alice,
        customer=caller,
        start=free_slots(session, alice.id, zone=zone, now=now)[0].start,
        length_minutes=30,
        zone=zone,
        actor=cora,
        mail_from="sales@northwind.example",
        place="Northgate Hospitality Group, service entrance, 1200 Harbor Boulevard",
        now=now,
    )
    task = Task(
        kind=TaskKind.CALLBACK,
        assignee_id=job.account_manager_id,
        customer_id=caller.id,
        job_id=job.id,
        description=f"Call {caller.name} back about the loading-bay delivery window",
        due_at=now + timedelta(hours=1),
    )
    session.add(task)
    session.flush()
    email = select(OutboundEmail.id).where(OutboundEmail.to_email == caller.email)
    return {
        "customer": caller.id,
        "job": job.id,
        "job_reference": job.reference,
        "call": call.id,
        "appointment": appointment.id,
        "task": task.id,
        "email": session.scalar(email.limit(1)),
    }


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    page.wait_for_load_state("load")


def assert_fits(page, where: str) -> None:
    """The page does not scroll sideways: nothing sticks out past the window."""
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (where, width, scroll_width, page.evaluate(STICKING_OUT))


def top_bar_items(page) -> list:
    """The main navigation's links, its search box (a salesperson has none), and Log out."""
    items = page.get_by_role("navigation", name="Main").get_by_role("link").all()
    items += page.get_by_label("Search customers and jobs").all()
    return items + [page.get_by_role("button", name="Log out")]


def open_menu(page) -> list[str]:
    """On a phone the links are folded away until "Menu" opens them, each on screen and
    big enough for a finger. Returns where the links go."""
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    assert nav.get_by_role("link").count() >= 1
    for item in top_bar_items(page):
        expect(item).to_be_visible()
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert box["height"] >= 40, box
    return [link.get_attribute("href") for link in nav.get_by_role("link").all()]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_phone_and_its_menu_opens(page, live_server, northwind, role):
    page.set_viewport_size(PHONE)
    log_in(page, northwind.logins[role])
    paths = open_menu(page) + northwind.pages[role]
    shot(page, f"30-phone-menu-{role.replace(' ', '-')}")
    page.keyboard.press("Escape")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Menu")).to_be_focused()
    if role == "admin":
        visit(page, "/admin/")
        subnav = page.get_by_role("navigation", name="Admin").get_by_role("link").all()
        paths += [link.get_attribute("href") for link in subnav]

    for path in dict.fromkeys(paths):
        visit(page, path)
        assert_fits(page, path)
        open_menu(page)  # on every page, and the open menu fits too
        assert_fits(page, path + " with the menu open")
    shot(page, f"31-phone-{role.replace(' ', '-')}")


def test_no_page_scrolls_sideways_between_phone_and_desktop(page, live_server, northwind):
    log_in(page, northwind.logins["admin"])
    for width in (320, 414, 600, 760, 761, 900, 1024, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        for path in ("/", "/calls/live", "/jobs", "/outbox", "/admin/users", "/reports/"):
            visit(page, path)
            assert_fits(page, path)


def test_the_desktop_top_bar_keeps_its_links_on_one_row(page, live_server, northwind):
    """At 1366 px nothing folds: no Menu button, every link shown, on one row. The admin's
    twelve links took two rows before (in a wide font such as DejaVu Sans, which this
    machine's chromium uses) and still may: hers must not take more."""
    for role in ROLES:
        log_in(page, northwind.logins[role])
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        links = page.get_by_role("navigation", name="Main").get_by_role("link").all()
        for link in links:
            expect(link).to_be_visible()
        rows = {round(link.bounding_box()["y"]) for link in links}
        assert len(rows) <= (2 if role == "admin" else 1), (role, sorted(rows))
        assert_fits(page, role)
        shot(page, f"32-desktop-top-bar-{role.replace(' ', '-')}")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/login")
