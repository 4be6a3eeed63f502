"""The screen-pop of a call she answers opens from every console page: base.html puts the
watcher on each page a coordinator or admin sees, except those that handle it themselves.
"""

from __future__ import annotations

from datetime import date

import pytest

from models import Job, Role
from tests.factories import make_call, make_customer, make_enquiry, make_salesperson, make_user
from tests.test_app import login

# Pages ask console.js for their behaviour in JSON data blocks (no inline script: CSP).
WATCHER = '<script type="application/json" data-switchboard="watchForMyCall">["/calls/live.json"]'

CONSOLE_JS = 'src="/static/console.js"'


@pytest.fixture
def desk(db_session):
    """A coordinator, a customer with a job, a missed enquiry and an answered call."""
    cora = make_user(db_session, email="cora@example.com", name="Cora")
    alice = make_salesperson(db_session, name="Alice Seller")
    dana = make_customer(db_session, name="Dana Buyer", salesperson=alice)
    db_session.add(Job(reference="ORD-4711", customer_id=dana.id, eta_date=date(2026, 12, 1)))
    enquiry = make_enquiry(db_session, customer=dana, line=alice.lines[0])
    call = make_call(db_session, line=alice.lines[0], customer=dana, answered_by=cora)
    db_session.commit()
    return {"cora": cora, "alice": alice, "dana": dana, "enquiry": enquiry, "call": call}


def console_pages(desk) -> list[str]:
    return [
        "/",
        "/customers",
        f"/customers/{desk['dana'].id}",
        "/search?q=Dana",
        "/salespeople",
        f"/salespeople/{desk['alice'].id}/calendar",
        "/tasks",
        "/jobs",
        "/jobs/ORD-4711",
        "/outbox",
        "/enquiries",
        f"/enquiries/{desk['enquiry'].id}",
    ]


def test_every_console_page_of_a_coordinator_watches_for_her_call(client, desk):
    login(client, desk["cora"].email)
    for path in console_pages(desk):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert html.count(WATCHER) == 1, path
        assert html.count(CONSOLE_JS) == 1, path


def test_admin_pages_and_reports_watch_too(client, db_session, desk):
    make_user(db_session, role=Role.ADMIN, email="ada@example.com")
    db_session.commit()
    login(client, "ada@example.com")
    for path in ("/customers", "/reports/", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert WATCHER in response.get_data(as_text=True), path


def test_live_calls_and_screen_pop_follow_calls_their_own_way(client, desk):
    login(client, desk["cora"].email)
    live = client.get("/calls/live").get_data(as_text=True)
    assert 'data-switchboard="liveCalls"' in live
    assert WATCHER not in live
    pop = client.get(f"/calls/{desk['call'].id}").get_data(as_text=True)
    assert 'data-switchboard="watchCall">["/calls/' in pop
    assert f'data-switchboard="screenPopShown">[{desk["call"].id}]' in pop
    assert WATCHER not in pop
    assert pop.count(CONSOLE_JS) == 1


def test_no_watcher_on_the_login_page_or_for_account_managers(client, db_session):
    page = client.get("/login").get_data(as_text=True)
    assert WATCHER not in page
    assert CONSOLE_JS not in page
    make_user(db_session, role=Role.ACCOUNT_MANAGER, email="fay@example.com")
    db_session.commit()
    login(client, "fay@example.com")
    for path in ("/", "/customers", "/jobs"):
        assert WATCHER not in client.get(path).get_data(as_text=True), path
