"""Account managers see every job but change only their own (PRODUCT.md §4); admins and
coordinators change any; the outbox's resend goes back to local pages only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import EmailStatus, Job, JobStatus, OutboundEmail, Role, utcnow
from notifications.jobs import JobSettings, create_job
from tests.factories import make_user
from tests.test_app import csrf_from, login


@pytest.fixture
def team(db_session):
    people = {
        "carol": make_user(
            db_session, role=Role.ACCOUNT_MANAGER, email="carol@example.com", capacity=5
        ),
        "bob": make_user(
            db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com", capacity=5
        ),
        "cora": make_user(db_session, role=Role.COORDINATOR, email="cora@example.com"),
        "ada": make_user(db_session, role=Role.ADMIN, email="ada@example.com"),
    }
    db_session.commit()
    return people


def carols_job(db_session, reference="4711") -> Job:
    job = create_job(
        db_session,
        reference=reference,
        customer={"name": "Dana Diaz", "email": f"dana{reference}@example.com"},
        eta=(utcnow() + timedelta(days=20)).date().isoformat(),
        account_manager_email="carol@example.com",
        actor="test",
        settings=JobSettings(),
        now=utcnow(),
    )
    db_session.commit()
    return job


def changes(job: Job) -> list[tuple[str, dict[str, str]]]:
    eta = (utcnow() + timedelta(days=30)).date().isoformat()
    return [
        (f"/jobs/{job.id}/eta", {"eta_date": eta, "eta_reason": "supplier delay"}),
        (f"/jobs/{job.id}/status", {"status": "in_progress"}),
        (f"/jobs/{job.id}/manager", {"account_manager_email": "bob@example.com"}),
        (f"/jobs/{job.id}/edit", {"description": "changed", "account_manager_email": ""}),
    ]


def state(db_session, job: Job):
    db_session.expire_all()
    job = db_session.get(Job, job.id)
    return (job.eta_date, job.status, job.account_manager_id, job.description)


def emails(db_session, job: Job):
    return db_session.execute(
        select(OutboundEmail.kind, OutboundEmail.to_email, OutboundEmail.status)
        .where(OutboundEmail.job_id == job.id)
        .order_by(OutboundEmail.id)
    ).all()


def test_an_account_manager_reads_anothers_job_but_cannot_change_it(client, db_session, team):
    job = carols_job(db_session)
    before = state(db_session, job), emails(db_session, job)
    login(client, "bob@example.com")
    page = client.get("/jobs/4711")
    assert page.status_code == 200 and "Dana Diaz" in page.get_data(as_text=True)
    assert "Change ETA" not in page.get_data(as_text=True)
    assert client.get(f"/jobs/{job.id}/edit").status_code == 403
    token = csrf_from(page.get_data(as_text=True))
    for path, form in changes(job):
        response = client.post(path, data={"csrf_token": token, **form})
        assert response.status_code == 403, path
        assert "managed by someone else" in response.get_data(as_text=True)
    assert (state(db_session, job), emails(db_session, job)) == before


@pytest.mark.parametrize("who", ["carol@example.com", "ada@example.com", "cora@example.com"])
def test_her_own_account_manager_admins_and_coordinators_change_the_job(
    client, db_session, team, who
):
    job = carols_job(db_session)
    login(client, who)
    page = client.get("/jobs/4711").get_data(as_text=True)
    assert "Change ETA" in page
    token = csrf_from(page)
    response = client.post(
        f"/jobs/{job.id}/status", data={"csrf_token": token, "status": "in_progress"}
    )
    assert response.status_code == 302
    assert state(db_session, job)[1] is JobStatus.IN_PROGRESS


def test_once_handed_over_the_job_is_no_longer_hers_to_change(client, db_session, team):
    job = carols_job(db_session)
    login(client, "carol@example.com")
    token = csrf_from(client.get("/jobs/4711").get_data(as_text=True))
    handed = client.post(
        f"/jobs/{job.id}/manager",
        data={"csrf_token": token, "account_manager_email": "bob@example.com"},
    )
    assert handed.status_code == 302
    again = client.post(f"/jobs/{job.id}/status", data={"csrf_token": token, "status": "cancelled"})
    assert again.status_code == 403
    assert state(db_session, job)[1] is JobStatus.OPEN


@pytest.mark.parametrize(
    "target, lands_on",
    [
        ("/outbox?status=failed&page=2", "/outbox?status=failed&page=2"),
        ("https://evil.example/phish", None),
        ("//evil.example/phish", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("/\r\nSet-Cookie: x=1", None),
    ],
)
def test_resend_goes_back_only_to_a_page_of_this_site(client, db_session, team, target, lands_on):
    job = carols_job(db_session)
    intro = db_session.scalar(
        select(OutboundEmail).where(
            OutboundEmail.job_id == job.id, OutboundEmail.kind == "introduction"
        )
    )
    intro.status = EmailStatus.FAILED
    db_session.commit()
    login(client, "cora@example.com")
    token = csrf_from(client.get("/outbox").get_data(as_text=True))
    response = client.post(f"/outbox/{intro.id}/resend", data={"csrf_token": token, "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == (lands_on or f"/outbox/{intro.id}")
