"""Admin → Delivery capacity: the console twin of `switchboard capacity`, audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from models import AuditEntry, DeliveryCapacity, DeliveryDay, Role
from tests.factories import make_user
from tests.routing.test_admin import post_form
from tests.test_app import login

PAGE = "/admin/capacity"


@pytest.fixture
def admin_client(client, db_session):
    make_user(db_session, role=Role.ADMIN, email="ada@example.com", name="Ada Admin")
    db_session.commit()
    assert login(client, "ada@example.com").status_code == 302
    return client


def _state(db_session):
    row = db_session.scalar(select(DeliveryCapacity))
    days = {d.day: d.jobs for d in db_session.scalars(select(DeliveryDay))}
    return (row.per_day if row else None), days


def test_admin_sets_per_day_and_a_day_then_clears_everything(admin_client, db_session):
    response = post_form(admin_client, PAGE, PAGE, {"per_day": "8"})
    assert response.status_code == 302
    response = post_form(
        admin_client, PAGE, "/admin/capacity/days", {"day": "2026-12-24", "jobs": "0"}
    )
    assert response.status_code == 302
    assert _state(db_session) == (8, {date(2026, 12, 24): 0})

    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Thu 24 Dec 2026" in page and "no deliveries" in page
    assert 'value="8"' in page

    post_form(admin_client, PAGE, "/admin/capacity/days/2026-12-24/delete", {})
    assert _state(db_session) == (8, {})
    post_form(admin_client, PAGE, "/admin/capacity/clear", {})
    assert _state(db_session) == (None, {})

    entries = db_session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "delivery_capacity")
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["per_day_set", "day_set", "day_cleared", "cleared"]
    assert {e.actor for e in entries} == {"ada@example.com"}


def test_empty_per_day_means_no_limit(admin_client, db_session):
    post_form(admin_client, PAGE, PAGE, {"per_day": "3"})
    post_form(admin_client, PAGE, PAGE, {"per_day": ""})
    assert _state(db_session) == (None, {})


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        (PAGE, {"per_day": "-2"}, "per_day"),
        (PAGE, {"per_day": "lots"}, "per_day"),
        ("/admin/capacity/days", {"day": "2026-02-30", "jobs": "1"}, "day"),
        ("/admin/capacity/days", {"day": "2026-12-24", "jobs": ""}, "jobs"),
    ],
)
def test_bad_values_show_the_form_again_and_save_nothing(
    admin_client, db_session, action, data, field
):
    response = post_form(admin_client, PAGE, action, data)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert _state(db_session) == (None, {})


def test_only_admins_reach_the_page(client, db_session):
    make_user(db_session, role=Role.COORDINATOR, email="cora@example.com")
    db_session.commit()
    login(client, "cora@example.com")
    assert client.get(PAGE).status_code == 403
