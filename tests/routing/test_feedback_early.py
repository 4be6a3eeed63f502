"""Feedback asked early: the introduction's signed link, follow-up enquiries, expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from models import (
    Enquiry,
    EnquiryKind,
    EnquiryStatus,
    FeedbackStage,
    JobFeedback,
    OutboundEmail,
    Role,
    utcnow,
)
from notifications.feedback_links import (
    LIFETIME,
    BadLink,
    ExpiredLink,
    make_token,
    read_token,
)
from notifications.jobs import JobSettings, create_job, update_job
from tests.factories import make_user
from tests.test_app import csrf_from

SECRET = "feedback-test-secret"
BASE = "https://sb.example.com"


@pytest.fixture
def app_overrides():
    return {"SECRET_KEY": SECRET, "PUBLIC_BASE_URL": BASE}


@pytest.fixture
def job(db_session):
    settings = JobSettings(secret_key=SECRET, public_base_url=BASE)
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
    db_session.commit()
    return job


@pytest.fixture
def early_path(db_session, job):
    intro = db_session.scalar(select(OutboundEmail).where(OutboundEmail.kind == "introduction"))
    assert "How are we doing so far?" in intro.text_body
    assert "How are we doing so far?" in intro.html_body
    match = re.search(rf"{re.escape(BASE)}(/feedback/\S+?)\?rating=4", intro.text_body)
    assert match, intro.text_body
    return match.group(1)


def _answer(client, path, rating, comment=""):
    page = client.get(f"{path}?rating={rating}")
    assert page.status_code == 200
    return client.post(
        path,
        data={
            "rating": rating,
            "comment": comment,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )


def _recorded(db_session):
    answers = db_session.scalar(select(func.count(JobFeedback.id)))
    enquiries = db_session.scalar(select(func.count(Enquiry.id)))
    alerts = db_session.scalar(
        select(func.count(OutboundEmail.id)).where(OutboundEmail.kind == "feedback-low-rating")
    )
    return answers, enquiries, alerts


def test_good_early_rating_is_recorded_quietly(client, db_session, early_path):
    page = client.get(f"{early_path}?rating=4")
    assert "How are we doing so far" in page.get_data(as_text=True)
    response = _answer(client, early_path, 4)
    assert response.status_code == 200
    assert "Thank you for your feedback." in response.get_data(as_text=True)
    [answer] = db_session.scalars(select(JobFeedback)).all()
    assert (answer.stage, answer.rating, answer.enquiry_id) == (FeedbackStage.EARLY, 4, None)
    assert _recorded(db_session) == (1, 0, 0)
    again = client.get(early_path)
    assert "We already have your answer so far" in again.get_data(as_text=True)


def test_low_early_rating_opens_an_enquiry_for_the_account_manager(client, db_session, early_path):
    response = _answer(client, early_path, 2, "Nobody told me the delivery slot")
    assert "will be in touch" in response.get_data(as_text=True)
    [enquiry] = db_session.scalars(select(Enquiry)).all()
    assert enquiry.kind is EnquiryKind.FEEDBACK
    assert enquiry.status is EnquiryStatus.CLAIMED
    assert enquiry.owner.email == "carol@example.com"
    assert "4711" in enquiry.notes and "Nobody told me" in enquiry.notes
    [alert] = db_session.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "feedback-low-rating")
    ).all()
    assert alert.to_email == "carol@example.com"
    assert "2 out of 5 so far, before delivery" in alert.text_body
    assert "Nobody told me the delivery slot" in alert.text_body


def test_early_comment_with_a_good_rating_is_followed_up(client, db_session, early_path):
    _answer(client, early_path, 5, "Can you deliver to the back door?")
    assert _recorded(db_session) == (1, 1, 1)


def test_early_and_delivered_answers_are_separate(client, db_session, job, early_path):
    _answer(client, early_path, 5)
    settings = JobSettings(secret_key=SECRET, public_base_url=BASE)
    update_job(db_session, job, status="delivered", actor="test", settings=settings, now=utcnow())
    db_session.commit()
    delivered = db_session.scalar(select(OutboundEmail).where(OutboundEmail.kind == "delivered"))
    path = re.search(rf"{re.escape(BASE)}(/feedback/\S+?)\?rating=1", delivered.text_body)[1]
    _answer(client, path, 1, "Broken")
    stages = db_session.execute(select(JobFeedback.stage, JobFeedback.rating)).all()
    assert sorted(stages) == [(FeedbackStage.DELIVERED, 1), (FeedbackStage.EARLY, 5)]
    db_session.refresh(job)
    assert job.feedback_rating == 1


def _post_any(client, path, csrf_page):
    token = csrf_from(client.get(csrf_page).get_data(as_text=True))
    return client.post(path, data={"rating": "1", "comment": "x", "csrf_token": token})


def test_expired_link_records_nothing(client, db_session, job, early_path):
    old = utcnow() - LIFETIME[FeedbackStage.EARLY] - timedelta(minutes=1)
    path = f"/feedback/{make_token(SECRET, job.id, FeedbackStage.EARLY, old)}"
    page = client.get(f"{path}?rating=1")
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "This feedback link has expired." in text and "Nothing was recorded" in text
    assert "carol@example.com" in text  # whom to write to instead
    assert _post_any(client, path, early_path).status_code == 410
    assert _recorded(db_session) == (0, 0, 0)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("xx" if not t.endswith("xx") else "yy"),
        lambda t: t.replace(t.split(".")[0], t.split(".")[0][::-1], 1),
        lambda t: URLSafeSerializer("another-secret", salt="job-feedback-v2").dumps(
            {"job": 1, "stage": "early", "exp": 4102444800}
        ),
    ],
    ids=["signature", "payload", "other-key"],
)
def test_tampered_link_records_nothing(client, db_session, early_path, mangle):
    path = "/feedback/" + mangle(early_path.rsplit("/", 1)[1])
    page = client.get(f"{path}?rating=1")
    assert page.status_code == 404
    assert "This feedback link is not valid." in page.get_data(as_text=True)
    assert _post_any(client, path, early_path).status_code == 404
    assert _recorded(db_session) == (0, 0, 0)


def test_links_from_before_expiry_existed_have_expired(client, db_session, job, early_path):
    legacy = URLSafeSerializer(SECRET, salt="job-feedback").dumps({"job": job.id})
    page = client.get(f"/feedback/{legacy}?rating=5")
    assert page.status_code == 410
    assert _recorded(db_session) == (0, 0, 0)


def test_link_expiry_follows_the_injected_clock():
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    token = make_token(SECRET, 7, FeedbackStage.DELIVERED, issued)
    link = read_token(SECRET, token, issued + timedelta(days=29))
    assert (link.job_id, link.stage) == (7, FeedbackStage.DELIVERED)
    with pytest.raises(ExpiredLink):
        read_token(SECRET, token, issued + timedelta(days=30))
    with pytest.raises(BadLink):
        read_token("other", token, issued)
