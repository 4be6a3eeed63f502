"""Console pages for jobs and the outbox, driven through the HTTP client like a browser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import EmailStatus, EtaChange, Job, JobStatus, OutboundEmail, Role, utcnow
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
        capacity=10,
    )
    db_session.commit()
    return user


@pytest.fixture
def cora(db_session):
    user = make_user(db_session, role=Role.COORDINATOR, name="Cora", email="cora@example.com")
    db_session.commit()
    return user


def _job(db_session, reference, eta, manager, customer_name="Dana Diaz"):
    job = create_job(
        db_session,
        reference=reference,
        customer={"name": customer_name, "email": f"{reference.lower()}@example.com"},
        eta=eta,
        account_manager_email=manager.email,
        actor="test",
        settings=JobSettings(),
        now=utcnow(),
    )
    db_session.commit()
    return job


def _token(client, path):
    return csrf_from(client.get(path).get_data(as_text=True))


def test_my_jobs_lists_overdue_and_at_risk_first(client, db_session, carol):
    today = utcnow().date()
    _job(db_session, "LATER", (today + timedelta(days=30)).isoformat(), carol)
    _job(db_session, "LATE", (today - timedelta(days=2)).isoformat(), carol)
    _job(db_session, "SOON", (utcnow() + timedelta(hours=2)).isoformat(), carol)
    login(client, carol.email)
    page = client.get("/jobs/mine").get_data(as_text=True)
    assert page.index("LATE") < page.index("SOON") < page.index("LATER")
    assert "ETA passed" in page
    assert "at risk" in page


def test_change_eta_with_reason_in_one_step(client, db_session, carol):
    job = _job(db_session, "4711", "2026-12-10", carol)
    login(client, carol.email)
    token = _token(client, "/jobs/mine")
    response = client.post(
        f"/jobs/{job.id}/eta",
        data={
            "eta_date": "2026-12-14",
            "eta_time": "",
            "eta_reason": "supplier delay",
            "next": "mine",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/jobs/mine")
    [change] = db_session.scalars(select(EtaChange).where(EtaChange.job_id == job.id)).all()
    assert (change.reason, change.changed_by) == ("supplier delay", "carol@example.com")
    db_session.expire_all()
    assert db_session.get(Job, job.id).eta_date.isoformat() == "2026-12-14"
    flash = client.get("/jobs/mine").get_data(as_text=True)
    assert "ETA of 4711 is now Monday 14 December 2026" in flash


def test_eta_change_without_reason_is_refused(client, db_session, carol):
    job = _job(db_session, "4711", "2026-12-10", carol)
    login(client, carol.email)
    client.post(
        f"/jobs/{job.id}/eta",
        data={"eta_date": "2026-12-14", "eta_reason": "", "csrf_token": _token(client, "/jobs")},
    )
    assert db_session.scalar(select(func.count(EtaChange.id))) == 0
    page = client.get(f"/jobs/{job.reference}").get_data(as_text=True)
    assert "Give the reason for the new ETA" in page


def test_mark_delivered_emails_the_customer(client, db_session, carol):
    job = _job(db_session, "4711", "2026-12-10", carol)
    login(client, carol.email)
    client.post(
        f"/jobs/{job.id}/status",
        data={"status": "delivered", "csrf_token": _token(client, "/jobs/mine")},
    )
    db_session.expire_all()
    assert db_session.get(Job, job.id).status == JobStatus.DELIVERED
    delivered = db_session.scalar(select(OutboundEmail).where(OutboundEmail.kind == "delivered"))
    assert delivered.to_email == "4711@example.com"


def test_coordinator_creates_a_job_from_the_form(client, db_session, carol, cora):
    login(client, cora.email)
    token = _token(client, "/jobs/new")
    response = client.post(
        "/jobs/new",
        data={
            "reference": "A/42",
            "customer_name": "Erin Ek",
            "customer_email": "erin@example.com",
            "customer_phone": "202 555 0199",
            "eta_date": "2026-12-10",
            "eta_time": "14:30",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/jobs/A/42")
    job = db_session.scalar(select(Job).where(Job.reference == "A/42"))
    assert job.account_manager_id == carol.id
    detail = client.get("/jobs/A/42").get_data(as_text=True)
    assert "Job A/42 created and assigned to Carol King" in detail
    assert "Thursday 10 December 2026 at 14:30 UTC" in detail
    assert "introduction" in detail


def test_job_form_errors_name_the_field_and_store_nothing(client, db_session, carol, cora):
    login(client, cora.email)
    token = _token(client, "/jobs/new")
    response = client.post(
        "/jobs/new",
        data={
            "reference": "B-1",
            "customer_name": "Erin",
            "customer_email": "not-an-email",
            "eta_date": "2026-12-10",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "The job was not created" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count(Job.id))) == 0


def test_jobs_list_searches_by_customer_and_filters_by_status(client, db_session, carol, cora):
    _job(db_session, "111", "2026-12-10", carol, customer_name="Alice Acme")
    _job(db_session, "222", "2026-12-10", carol, customer_name="Bob Builder")
    login(client, cora.email)
    page = client.get("/jobs?q=acme").get_data(as_text=True)
    assert ">111<" in page and ">222<" not in page
    assert ">222<" in client.get("/jobs?q=222").get_data(as_text=True)
    assert "No job matches" in client.get("/jobs?status=delivered").get_data(as_text=True)


def test_job_detail_shows_eta_history_and_emails(client, db_session, carol):
    job = _job(db_session, "4711", "2026-12-10", carol)
    login(client, carol.email)
    client.post(
        f"/jobs/{job.id}/eta",
        data={
            "eta_date": "2026-12-11",
            "eta_reason": "truck broke down",
            "csrf_token": _token(client, "/jobs"),
        },
    )
    page = client.get("/jobs/4711").get_data(as_text=True)
    assert "truck broke down" in page
    assert "Thursday 10 December 2026" in page and "Friday 11 December 2026" in page
    assert "assignment" in page and "introduction" in page


def test_outbox_shows_emails_in_full_and_resends_failed_ones(client, db_session, carol):
    _job(db_session, "4711", "2026-12-10", carol)
    intro = db_session.scalar(select(OutboundEmail).where(OutboundEmail.kind == "introduction"))
    intro.status = EmailStatus.FAILED
    intro.last_error = "SendGrid refused the email (400): invalid address"
    db_session.commit()
    login(client, carol.email)
    listing = client.get("/outbox").get_data(as_text=True)
    assert "SendGrid refused the email (400): invalid address" in listing
    assert "Resend" in listing
    detail = client.get(f"/outbox/{intro.id}").get_data(as_text=True)
    assert "If the ETA changes, I will email you" in detail
    response = client.post(f"/outbox/{intro.id}/resend", data={"csrf_token": csrf_from(detail)})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(OutboundEmail, intro.id).status == EmailStatus.PENDING


def test_pages_need_login_and_editing_needs_an_editor_role(client, db_session, carol):
    assert client.get("/jobs").status_code == 302
    assert client.get("/outbox").status_code == 302
    admin = make_user(db_session, role=Role.ADMIN, email="boss@example.com")
    db_session.commit()
    login(client, admin.email)
    assert client.get("/jobs/new").status_code == 200
    assert client.get("/jobs/nope").status_code == 404
