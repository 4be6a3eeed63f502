"""The capacity view wherever the console chooses an ETA: a full day is refused with the days
that have room (buttons that work without JavaScript), or chosen anyway with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import EtaOverride, Job, Role, utcnow
from notifications.capacity import set_per_day
from notifications.jobs import JobSettings, create_job
from tests.factories import make_user
from tests.test_app import csrf_from, login


@pytest.fixture
def carol(db_session):
    user = make_user(
        db_session,
        role=Role.ACCOUNT_MANAGER,
        name="Carol King",
        email="carol@example.com",
        capacity=20,
    )
    db_session.commit()
    return user


@pytest.fixture
def days(db_session):
    """One delivery a day (no business hours: every day counts); the day after tomorrow full."""
    set_per_day(db_session, 1, actor="test")
    db_session.commit()
    today = utcnow().date()
    return [today + timedelta(days=n) for n in range(8)]


def _job(db_session, reference, eta, manager):
    job = create_job(
        db_session,
        reference=reference,
        customer={"name": "Dana Diaz", "email": f"{reference.lower()}@example.com"},
        eta=eta.isoformat(),
        account_manager_email=manager.email,
        actor="test",
        settings=JobSettings(),
        now=utcnow(),
    )
    db_session.commit()
    return job


def _jobs(db_session) -> int:
    return db_session.scalar(select(func.count(Job.id)))


def _new_job(client, **fields):
    token = csrf_from(client.get("/jobs/new").get_data(as_text=True))
    data = {
        "reference": "N1",
        "customer_name": "Erin Early",
        "customer_email": "erin@example.com",
        "eta_date": "",
        "csrf_token": token,
    }
    data.update(fields)
    return client.post("/jobs/new", data=data)


def test_new_job_on_a_full_day_offers_the_days_with_room(client, db_session, carol, days):
    _job(db_session, "FULL", days[2], carol)
    login(client, carol.email)
    before = _jobs(db_session)

    response = _new_job(client, eta_date=days[2].isoformat())

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "fully booked (1 of 1 deliveries)" in page
    for day in days[3:6]:
        assert f'name="eta_alternative" value="{day.isoformat()}"' in page
    assert 'name="eta_override_reason"' in page
    assert _jobs(db_session) == before

    # The offered day, clicked without JavaScript, is a submit button: the job is created.
    response = _new_job(client, eta_date=days[2].isoformat(), eta_alternative=days[3].isoformat())
    assert response.status_code == 302
    assert db_session.scalar(select(Job).where(Job.reference == "N1")).eta_date == days[3]


def test_new_job_chosen_anyway_with_a_reason_shows_the_override(client, db_session, carol, days):
    _job(db_session, "FULL", days[2], carol)
    login(client, carol.email)

    response = _new_job(client, eta_date=days[2].isoformat(), eta_override_reason="Trade show")

    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 full-day override" in page
    assert "Trade show" in page
    assert "(when created)" in page


def test_eta_change_onto_a_full_day_is_refused_on_the_job_page(client, db_session, carol, days):
    _job(db_session, "FULL", days[2], carol)
    job = _job(db_session, "MOVE", days[6], carol)
    login(client, carol.email)
    token = csrf_from(client.get("/jobs/MOVE").get_data(as_text=True))
    form = {"eta_date": days[2].isoformat(), "eta_reason": "earlier slot", "csrf_token": token}

    refused = client.post(f"/jobs/{job.id}/eta", data=form)

    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "fully booked" in page
    assert f'value="{days[3].isoformat()}"' in page
    assert 'value="earlier slot"' in page  # what she typed is kept
    db_session.expire_all()
    assert db_session.get(Job, job.id).eta_date == days[6]

    accepted = client.post(
        f"/jobs/{job.id}/eta", data={**form, "eta_override_reason": "VIP customer"}
    )
    assert accepted.status_code == 302
    page = client.get("/jobs/MOVE").get_data(as_text=True)
    assert "full day, overridden" in page
    assert "VIP customer" in page
    assert "1 full-day override" in page
    override = db_session.scalar(select(EtaOverride).where(EtaOverride.job_id == job.id))
    assert (override.booked, override.capacity, override.actor) == (1, 1, "carol@example.com")


def test_job_page_shows_the_coming_days_with_booked_and_capacity(client, db_session, carol, days):
    _job(db_session, "FULL", days[2], carol)
    job = _job(db_session, "MINE", days[5], carol)
    login(client, carol.email)
    page = client.get("/jobs/MINE").get_data(as_text=True)
    assert f'data-date="{days[2].isoformat()}"' in page
    assert "capacity-day full" in page
    # Her own job does not count against the days she may move it to.
    assert f'data-current-day="{days[5].isoformat()}"' in page
    assert f'data-job="{job.id}"' in page
    assert 'src="/static/capacity.js"' in page
    assert client.get("/jobs/mine").status_code == 200


def test_capacity_json_gives_one_day_and_its_alternatives(client, db_session, carol, days):
    _job(db_session, "FULL", days[2], carol)
    login(client, carol.email)
    data = client.get(f"/capacity.json?date={days[2].isoformat()}").json
    assert data["day"]["booked"] == 1 and data["day"]["capacity"] == 1 and data["day"]["free"] == 0
    assert [a["date"] for a in data["alternatives"]] == [d.isoformat() for d in days[3:6]]
    assert client.get(f"/capacity.json?date={days[3].isoformat()}").json["alternatives"] == []
    assert client.get("/capacity.json?date=soon").status_code == 400


def test_capacity_json_needs_a_login(client):
    response = client.get("/capacity.json?date=2026-12-10")
    assert response.status_code in (302, 401)


def test_disposition_new_job_on_a_full_day_offers_days_and_choose_anyway(
    client, db_session, carol, days
):
    from datetime import time as clock_time

    from models import Call
    from tests.factories import make_business_hours, make_call, make_salesperson

    make_business_hours(db_session, opens=clock_time(0, 0), closes=clock_time(23, 59), days=7)
    cora = make_user(db_session, role=Role.COORDINATOR, email="cora@example.com", name="Cora")
    alice = make_salesperson(db_session, name="Alice Seller", email="alice@example.com")
    _job(db_session, "FULL", days[2], carol)
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'data-date-input="new_job_eta"' in page  # the coming days, in the form
    form = {
        "csrf_token": csrf_from(page),
        "outcome": "account_management",
        "account_manager_id": str(carol.id),
        "caller_name": "Dana Buyer",
        "caller_phone": "(202) 555-0143",
        "caller_email": "dana@buyer.example.com",
        "new_job_reference": "CALL-1",
        "new_job_eta": days[2].isoformat(),
    }

    refused = client.post(f"/calls/{call.id}/disposition", data=form)

    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "fully booked" in html
    assert f'name="new_job_eta_alternative" value="{days[3].isoformat()}"' in html
    assert 'name="new_job_eta_override_reason"' in html
    db_session.expire_all()
    assert db_session.get(Call, call.id).disposed_at is None

    accepted = client.post(
        f"/calls/{call.id}/disposition", data={**form, "new_job_eta_override_reason": "VIP"}
    )
    assert accepted.status_code == 302
    job = db_session.scalar(select(Job).where(Job.reference == "CALL-1"))
    assert (
        db_session.scalar(select(EtaOverride).where(EtaOverride.job_id == job.id)).reason == "VIP"
    )
