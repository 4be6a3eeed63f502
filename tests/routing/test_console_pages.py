"""Customers, search, calendars and tasks pages."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from models import Appointment, AppointmentSlot, Job, Role, Task, TaskKind
from tests.factories import (
    make_business_hours,
    make_customer,
    make_salesperson,
    make_user,
)
from tests.test_app import login


def test_customers_list_detail_and_search(client, db_session):
    cora = make_user(db_session, email="cora@example.com")
    alice = make_salesperson(db_session, name="Alice Seller")
    dana = make_customer(
        db_session,
        name="Dana Buyer",
        phone="+12025550143",
        email="dana@example.com",
        company="Kitchens Ltd",
        salesperson=alice,
    )
    db_session.add(
        Job(reference="ORD-4711", customer_id=dana.id, eta_date=datetime(2026, 12, 1).date())
    )
    db_session.commit()
    login(client, cora.email)
    listing = client.get("/customers").get_data(as_text=True)
    assert "Dana Buyer" in listing and "Alice Seller" in listing
    detail = client.get(f"/customers/{dana.id}").get_data(as_text=True)
    assert "ORD-4711" in detail and "No calls yet." in detail
    assert "Dana Buyer" in client.get("/customers?q=kitchens").get_data(as_text=True)
    for query in ("(202) 555-0143", "dana@example", "ORD-4711"):
        page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
        assert "Dana Buyer" in page, query
    assert "Nothing matches" in client.get("/search?q=zzzz").get_data(as_text=True)
    assert client.get("/customers/999999").status_code == 404


def test_calendar_shows_appointments_in_the_org_zone(client, db_session):
    make_business_hours(db_session, opens=time(9), closes=time(17), days=7)
    cora = make_user(db_session, email="cora@example.com")
    alice = make_salesperson(db_session, name="Alice Seller")
    dana = make_customer(db_session, name="Dana Buyer")
    start = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # a Monday, UTC is the org zone here
    appointment = Appointment(
        salesperson_id=alice.id,
        customer_id=dana.id,
        start_at=start,
        end_at=start + timedelta(minutes=30),
        place="Showroom",
    )
    db_session.add(appointment)
    db_session.flush()
    db_session.add(
        AppointmentSlot(appointment_id=appointment.id, salesperson_id=alice.id, slot_start=start)
    )
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/salespeople/{alice.id}/calendar?week=2030-01-09").get_data(as_text=True)
    assert "Week of 07 January 2030" in page
    assert "10:00–10:30" in page and "Dana Buyer" in page and "Showroom" in page
    assert "15 free slots" in page  # Monday: 16 half-hours minus the booked one
    assert "Calendar" in client.get("/salespeople").get_data(as_text=True)


def test_each_user_sees_the_tasks_assigned_to_her_and_admins_see_all(client, db_session):
    cora = make_user(db_session, email="cora@example.com")
    fay = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="fay@example.com", name="Fay")
    bob = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com", name="Bob")
    make_user(db_session, role=Role.ADMIN, email="ada@example.com")
    db_session.add_all(
        [
            Task(kind=TaskKind.CALLBACK, assignee_id=fay.id, description="Call Dana back"),
            Task(kind=TaskKind.SAVE_THE_SALE, assignee_id=bob.id, description="Save Erin's order"),
            Task(kind=TaskKind.CALLBACK, assignee_id=cora.id, description="Ring Fred"),
        ]
    )
    db_session.commit()
    seen = {}
    for email in ("cora@example.com", "fay@example.com", "ada@example.com"):
        other = client.application.test_client()
        login(other, email)
        page = other.get("/tasks").get_data(as_text=True)
        seen[email] = {d for d in ("Call Dana back", "Save Erin", "Ring Fred") if d in page}
    assert seen["cora@example.com"] == {"Ring Fred"}
    assert seen["fay@example.com"] == {"Call Dana back"}
    assert seen["ada@example.com"] == {"Call Dana back", "Save Erin", "Ring Fred"}


def test_home_links_to_the_console_pages(client, db_session):
    cora = make_user(db_session, email="cora@example.com")
    db_session.commit()
    login(client, cora.email)
    page = client.get("/").get_data(as_text=True)
    for href in ('href="/calls/live"', 'href="/enquiries"', 'href="/customers"'):
        assert href in page


def test_job_references_link_to_the_job_page(client, db_session):
    cora = make_user(db_session, email="cora@example.com")
    dana = make_customer(db_session, name="Dana Buyer")
    db_session.add(
        Job(reference="ORD-77", customer_id=dana.id, eta_date=datetime(2026, 12, 1).date())
    )
    db_session.commit()
    login(client, cora.email)
    for path in (f"/customers/{dana.id}", "/search?q=ORD-77"):
        page = client.get(path).get_data(as_text=True)
        assert 'href="/jobs/ORD-77"' in page, path


def test_account_manager_cannot_read_or_close_someone_elses_task(client, db_session):
    fay = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="fay@example.com", name="Fay")
    bob = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com", name="Bob")
    task = Task(kind=TaskKind.SAVE_THE_SALE, assignee_id=bob.id, description="Save it")
    db_session.add(task)
    db_session.commit()
    login(client, fay.email)
    from tests.test_app import csrf_from

    # Another's task is not there for her: neither to read nor to close.
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 404 and "Save it" not in page.get_data(as_text=True)
    token = csrf_from(client.get("/tasks").get_data(as_text=True))
    response = client.post(
        f"/tasks/{task.id}", data={"csrf_token": token, "outcome": "saved", "outcome_notes": "done"}
    )
    assert response.status_code == 404
    db_session.expire_all()
    assert db_session.get(Task, task.id).outcome is None
