"""The home page: the account manager's day, and the team's for coordinators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Job, JobStatus, OutboundEmail, Role, Task, TaskKind, utcnow
from tests.factories import make_customer, make_user
from tests.test_app import csrf_from, login


def _job(session, reference, manager, eta_days):
    customer = make_customer(session, name=f"Customer of {reference}")
    job = Job(
        reference=reference,
        customer_id=customer.id,
        account_manager_id=manager.id,
        eta_date=utcnow().date() + timedelta(days=eta_days),
    )
    session.add(job)
    session.flush()
    return job


@pytest.fixture
def people(db_session):
    fay = make_user(db_session, role=Role.ACCOUNT_MANAGER, name="Fay Manager", capacity=4)
    gus = make_user(db_session, role=Role.ACCOUNT_MANAGER, name="Gus Manager", capacity=4)
    cora = make_user(db_session, role=Role.COORDINATOR, name="Cora")
    _job(db_session, "FAY-LATE", fay, -3)
    _job(db_session, "GUS-LATE", gus, -3)
    db_session.add(
        Task(
            kind=TaskKind.CALLBACK,
            assignee_id=fay.id,
            description="Call Dana back: the transfer to you was not answered.",
            due_at=utcnow() + timedelta(hours=1),
        )
    )
    db_session.commit()
    return fay, gus, cora


def test_her_home_page_is_where_her_day_starts(client, people):
    fay, _, _ = people
    login(client, fay.email)
    page = client.get("/").get_data(as_text=True)
    assert "ETA passed" in page and 'href="/jobs/FAY-LATE"' in page
    assert "GUS-LATE" not in page
    assert "Call Dana back: the transfer to you was not answered." in page
    assert "1</span> of 4 open jobs (your capacity)" in page and "25 % full" in page
    assert "Change ETA" in page and "Mark delivered" in page


def test_mark_delivered_from_home_goes_through_the_job_service(client, db_session, people):
    fay, _, _ = people
    job = db_session.scalar(select(Job).where(Job.reference == "FAY-LATE"))
    login(client, fay.email)
    token = csrf_from(client.get("/").get_data(as_text=True))
    refused = client.post(f"/jobs/{job.id}/status", data={"status": "delivered", "next": "home"})
    assert refused.status_code == 400  # no CSRF token
    response = client.post(
        f"/jobs/{job.id}/status",
        data={"status": "delivered", "next": "home", "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    db_session.expire_all()
    assert db_session.get(Job, job.id).status is JobStatus.DELIVERED
    assert (
        db_session.scalar(select(OutboundEmail).where(OutboundEmail.kind == "delivered"))
        is not None
    )
    page = client.get("/").get_data(as_text=True)
    assert "Job FAY-LATE is now delivered." in page
    assert 'href="/jobs/FAY-LATE"' not in page


def test_coordinators_see_the_team_and_can_pick_one_manager(client, people):
    fay, gus, cora = people
    login(client, cora.email)
    team = client.get("/").get_data(as_text=True)
    assert "FAY-LATE" in team and "GUS-LATE" in team
    assert "Load against capacity" in team
    # Tasks stay private to their assignee: Cora does not see Fay's.
    assert "the transfer to you was not answered" not in team
    one = client.get(f"/?manager={gus.id}").get_data(as_text=True)
    assert "GUS-LATE" in one and "FAY-LATE" not in one
    assert client.get("/?manager=nonsense").status_code == 200
