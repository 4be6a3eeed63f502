"""The delivered email's feedback link: signed, public, one answer, low ratings escalated."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import OutboundEmail, Role, utcnow
from notifications.jobs import JobSettings, create_job, update_job
from tests.factories import make_user
from tests.test_app import csrf_from

SECRET = "feedback-test-secret"


@pytest.fixture
def app_overrides():
    return {"SECRET_KEY": SECRET, "PUBLIC_BASE_URL": "https://sb.example.com"}


@pytest.fixture
def feedback_path(db_session):
    """The job is delivered; returns the path of the link in the delivered email."""
    settings = JobSettings(secret_key=SECRET, public_base_url="https://sb.example.com")
    manager = make_user(
        db_session, role=Role.ACCOUNT_MANAGER, capacity=3, email="carol@example.com"
    )
    job = create_job(
        db_session,
        reference="4711",
        customer={"name": "Dana Diaz", "email": "dana@example.com"},
        eta="2026-12-10",
        account_manager_email=manager.email,
        actor="test",
        settings=settings,
        now=utcnow(),
    )
    update_job(db_session, job, status="delivered", actor="test", settings=settings, now=utcnow())
    db_session.commit()
    delivered = db_session.scalar(select(OutboundEmail).where(OutboundEmail.kind == "delivered"))
    match = re.search(r"https://sb\.example\.com(/feedback/\S+?)\?rating=5", delivered.text_body)
    assert match, delivered.text_body
    return match.group(1)


def _alerts(db_session) -> int:
    return db_session.scalar(
        select(func.count(OutboundEmail.id)).where(OutboundEmail.kind == "feedback-low-rating")
    )


def _answer(client, path, rating, comment=""):
    page = client.get(f"{path}?rating={rating}")
    assert page.status_code == 200
    assert f'value="{rating}" required checked' in page.get_data(as_text=True)
    return client.post(
        path,
        data={
            "rating": rating,
            "comment": comment,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )


def test_good_rating_is_recorded_once(client, db_session, feedback_path):
    response = _answer(client, feedback_path, 5, "Great service")
    assert response.status_code == 200
    assert "Thank you for your feedback" in response.get_data(as_text=True)
    again = client.get(feedback_path)
    assert "We already have your answer for this job (rated 5 out of 5)" in again.get_data(
        as_text=True
    )
    assert _alerts(db_session) == 0


def test_low_rating_alerts_the_account_manager(client, db_session, feedback_path):
    _answer(client, feedback_path, 1, "Arrived broken")
    [alert] = db_session.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "feedback-low-rating")
    ).all()
    assert alert.to_email == "carol@example.com"
    assert "rated job 4711 1 out of 5" in alert.text_body
    assert "Arrived broken" in alert.text_body
    page = client.get(feedback_path)
    assert "We already have your answer" in page.get_data(as_text=True)
    assert _alerts(db_session) == 1


def test_tampered_link_is_404(client, feedback_path):
    assert client.get(feedback_path[:-2] + "xx").status_code == 404


def test_rating_out_of_range_is_refused(client, db_session, feedback_path):
    page = client.get(feedback_path)
    response = client.post(
        feedback_path, data={"rating": "9", "csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert response.status_code == 422
    assert "Choose a rating from 1 to 5." in response.get_data(as_text=True)
