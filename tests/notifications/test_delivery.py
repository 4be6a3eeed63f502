"""Sending the outbox through SendGrid (faked at the HTTP layer) and the development backend."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from sqlalchemy import select

from models import EmailStatus, OutboundEmail
from notifications.delivery import dispatch_due
from notifications.leases import MAX_ATTEMPTS
from notifications.outbox import enqueue_email, resend
from notifications.senders import IDEMPOTENCY_ARG, DevelopmentSender, SendGridSender

from .conftest import MAIL_FROM, SENDGRID_HOST, SENDGRID_URL


@pytest.fixture
def sendgrid():
    sender = SendGridSender(api_key="SG.test", mail_from=MAIL_FROM, host=SENDGRID_HOST)
    yield sender
    sender.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _accept(mocked, message_id="msg-1"):
    mocked.add(responses.POST, SENDGRID_URL, status=202, headers={"X-Message-Id": message_id})


def _email(db_session, key="test:1", **fields):
    fields.setdefault("now", datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    email = enqueue_email(
        db_session,
        kind="test",
        idempotency_key=key,
        to_email="dana@example.com",
        subject="Hello",
        text_body="text",
        html_body="<p>html</p>",
        **fields,
    )
    db_session.commit()
    return email


def _rows(db_session, kind=None):
    db_session.expire_all()
    query = select(OutboundEmail).order_by(OutboundEmail.id)
    if kind:
        query = query.where(OutboundEmail.kind == kind)
    return db_session.scalars(query).all()


def test_new_job_emails_reach_sendgrid_as_the_account_manager(
    db, db_session, clock, make_job, sendgrid, mocked
):
    _accept(mocked)
    make_job(eta="2026-12-10T15:30")
    report = dispatch_due(db, sendgrid, clock=clock)
    assert report.sent == 2
    bodies = {}
    for call in mocked.calls:
        assert call.request.headers["Authorization"] == "Bearer SG.test"
        body = json.loads(call.request.body)
        bodies[body["personalizations"][0]["to"][0]["email"]] = body
    intro = bodies["dana@example.com"]
    assert intro["from"] == {"email": "orders@acme.example", "name": "Carol King"}
    assert intro["reply_to"]["email"] == "carol.4711@acme.example"
    assert intro["personalizations"][0]["to"][0]["name"] == "Dana Diaz"
    assert "4711" in intro["subject"]
    text, html = intro["content"]
    assert (
        text["type"] == "text/plain" and "Thursday 10 December 2026 at 15:30 CET" in text["value"]
    )
    assert html["type"] == "text/html" and "<strong>4711</strong>" in html["value"]
    intro_row = _rows(db_session, "introduction")[0]
    assert intro["custom_args"] == {IDEMPOTENCY_ARG: f"job:{intro_row.job_id}:introduction"}
    assignment = bodies["carol.4711@acme.example"]
    assert "assigned to you" in assignment["subject"]
    for row in _rows(db_session):
        if row.kind in ("introduction", "assignment"):
            assert row.status == EmailStatus.SENT
            assert row.provider_message_id == "msg-1"
            assert row.attempts == 1


def test_nothing_is_sent_before_it_is_due(db, db_session, clock, sendgrid, mocked):
    _accept(mocked)
    _email(db_session, send_at=clock() + timedelta(minutes=10))
    assert dispatch_due(db, sendgrid, clock=clock).sent == 0
    assert len(mocked.calls) == 0
    clock.advance(minutes=10)
    assert dispatch_due(db, sendgrid, clock=clock).sent == 1
    assert len(mocked.calls) == 1


def test_rate_limited_then_accepted_is_sent_exactly_once(db, db_session, clock, sendgrid, mocked):
    reset = int((clock() + timedelta(minutes=5)).timestamp())
    mocked.add(
        responses.POST,
        SENDGRID_URL,
        status=429,
        json={"errors": [{"message": "too many requests"}]},
        headers={"X-RateLimit-Reset": str(reset)},
    )
    _accept(mocked, "msg-after-429")
    _email(db_session)

    first = dispatch_due(db, sendgrid, clock=clock)
    assert (first.sent, first.retried) == (0, 1)
    [row] = _rows(db_session)
    assert row.status == EmailStatus.PENDING
    assert row.next_attempt_at >= datetime.fromtimestamp(reset, UTC)
    assert "429" in row.last_error

    clock.advance(minutes=1)
    assert dispatch_due(db, sendgrid, clock=clock).claimed == 0  # honours X-RateLimit-Reset
    clock.advance(minutes=10)
    assert dispatch_due(db, sendgrid, clock=clock).sent == 1
    assert dispatch_due(db, sendgrid, clock=clock).claimed == 0
    [row] = _rows(db_session)
    assert (row.status, row.provider_message_id, row.attempts) == (
        EmailStatus.SENT,
        "msg-after-429",
        2,
    )
    assert len(mocked.calls) == 2


def test_bad_request_marks_failed_with_sendgrids_reason(db, db_session, clock, sendgrid, mocked):
    mocked.add(
        responses.POST,
        SENDGRID_URL,
        status=400,
        json={
            "errors": [
                {"field": "personalizations.0.to", "message": "Does not contain a valid address."}
            ]
        },
    )
    _email(db_session)
    assert dispatch_due(db, sendgrid, clock=clock).failed == 1
    [row] = _rows(db_session)
    assert row.status == EmailStatus.FAILED
    assert row.last_error == (
        "SendGrid refused the email (400): personalizations.0.to: Does not contain a valid address."
    )
    clock.advance(hours=5)
    assert dispatch_due(db, sendgrid, clock=clock).claimed == 0

    _accept(mocked, "msg-resent")
    resend(db_session, row, now=clock())
    db_session.commit()
    assert dispatch_due(db, sendgrid, clock=clock).sent == 1
    assert _rows(db_session)[0].provider_message_id == "msg-resent"


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "body": "unavailable"},
        {"body": requests.ConnectTimeout("timed out")},
        {"body": requests.ConnectionError("refused")},
        {"body": requests.ReadTimeout("slow")},
    ],
)
def test_server_errors_and_timeouts_back_off_then_give_up(
    db, db_session, clock, sendgrid, mocked, failure
):
    mocked.add(responses.POST, SENDGRID_URL, **failure)
    _email(db_session)
    delays = []
    for _ in range(MAX_ATTEMPTS):
        report = dispatch_due(db, sendgrid, clock=clock, rng=random.Random(1))
        assert report.claimed == 1
        [row] = _rows(db_session)
        if row.status == EmailStatus.PENDING:
            delays.append(row.next_attempt_at - clock())
            clock.now = row.next_attempt_at
    assert row.status == EmailStatus.FAILED
    assert row.last_error.startswith("gave up:")
    assert len(delays) == MAX_ATTEMPTS - 1
    assert delays == sorted(delays)  # exponential: each wait longer than the last
    assert delays[0] >= timedelta(seconds=15)


def test_attachments_are_sent_base64_encoded(db, db_session, clock, sendgrid, mocked):
    _accept(mocked)
    ics = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    _email(
        db_session,
        attachments=[{"filename": "invite.ics", "content_type": "text/calendar", "content": ics}],
    )
    dispatch_due(db, sendgrid, clock=clock)
    [attachment] = json.loads(mocked.calls[0].request.body)["attachments"]
    assert attachment["filename"] == "invite.ics"
    assert attachment["type"] == "text/calendar"
    assert base64.b64decode(attachment["content"]).decode() == ics


def test_development_backend_keeps_emails_and_sends_nothing(db, db_session, clock, mocked):
    _email(db_session)
    report = dispatch_due(db, DevelopmentSender(), clock=clock)
    assert report.sent == 1
    assert len(mocked.calls) == 0
    [row] = _rows(db_session)
    assert row.status == EmailStatus.SENT
    assert row.delivery_state == "development"
    assert row.text_body == "text"


def test_expired_lease_of_a_crashed_worker_is_reclaimed(db, db_session, clock, sendgrid, mocked):
    from notifications.delivery import LEASE, claim_due

    _accept(mocked)
    email = _email(db_session)
    assert [e.id for e in claim_due(db, now=clock())] == [email.id]  # claimed; worker dies
    assert dispatch_due(db, sendgrid, clock=clock).claimed == 0
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert dispatch_due(db, sendgrid, clock=clock).sent == 1


def _eta_change(db_session, job, eta, clock, job_settings, reason="delay"):
    from notifications.jobs import update_job

    update_job(
        db_session,
        job,
        eta=eta,
        eta_reason=reason,
        actor="carol",
        settings=job_settings,
        now=clock(),
    )
    db_session.commit()


def _sent_to_sendgrid(mocked, kind_subject: str) -> list[dict]:
    bodies = [json.loads(call.request.body) for call in mocked.calls]
    return [b for b in bodies if kind_subject in b["subject"]]


def test_three_eta_changes_in_the_settle_window_reach_sendgrid_as_one_email(
    db, db_session, clock, make_job, sendgrid, mocked, job_settings
):
    _accept(mocked)
    job = make_job(eta="2026-12-10")
    dispatch_due(db, sendgrid, clock=clock)  # assignment + introduction
    for eta in ("2026-12-11", "2026-12-14", "2026-12-15"):
        clock.advance(minutes=2)
        _eta_change(db_session, job, eta, clock, job_settings, reason=f"moved to {eta}")
    clock.advance(minutes=9)  # 9 minutes after the last change: still settling
    dispatch_due(db, sendgrid, clock=clock)
    assert _sent_to_sendgrid(mocked, "new ETA") == []
    clock.advance(minutes=2)
    dispatch_due(db, sendgrid, clock=clock)
    clock.advance(hours=1)
    dispatch_due(db, sendgrid, clock=clock)
    [change] = _sent_to_sendgrid(mocked, "new ETA")
    assert change["subject"] == "Your job 4711: new ETA Tuesday 15 December 2026"
    assert change["personalizations"][0]["to"][0]["email"] == "dana@example.com"
    text = change["content"][0]["value"]
    assert "Was: Thursday 10 December 2026" in text
    assert "Now: Tuesday 15 December 2026" in text
    assert "Reason: moved to 2026-12-15" in text
    assert change["custom_args"][IDEMPOTENCY_ARG].startswith(f"job:{job.id}:eta-change:")


def test_eta_change_and_change_back_sends_nothing_to_sendgrid(
    db, db_session, clock, make_job, sendgrid, mocked, job_settings
):
    _accept(mocked)
    job = make_job(eta="2026-12-10")
    dispatch_due(db, sendgrid, clock=clock)
    requests_before = len(mocked.calls)
    _eta_change(db_session, job, "2026-12-12", clock, job_settings)
    clock.advance(minutes=3)
    _eta_change(db_session, job, "2026-12-10", clock, job_settings)
    clock.advance(hours=2)
    dispatch_due(db, sendgrid, clock=clock)
    assert len(mocked.calls) == requests_before


# --- leases, slow answers, rate limits, database outages (PRODUCT.md §6) ----------------


def test_production_defaults_keep_the_60_s_and_30_s_promises():
    from config import load_config
    from notifications.delivery import DEFAULTS, DeliverySettings
    from notifications.senders import sender_from_config
    from notifications.worker import DISPATCH_SECONDS

    config = load_config({"SENDGRID_API_KEY": "SG.x"}, env_name="development")
    settings = DeliverySettings.from_config(config)
    assert settings == DEFAULTS  # the config's defaults are the code's
    sender = sender_from_config(config)
    connect, read = sender.timeout
    assert read > 30, "a 30 s answer is waited for"
    # A live worker renews before its lease gets shorter than the longest request …
    assert settings.lease - settings.heartbeat > timedelta(seconds=connect + read)
    # … and a dead worker's emails are picked up by the next sweep, inside 60 s.
    assert settings.lease + timedelta(seconds=config.OUTBOX_SWEEP_SECONDS) <= timedelta(seconds=50)
    assert config.OUTBOX_SWEEP_SECONDS == DISPATCH_SECONDS
    sender.close()


def test_a_lease_too_short_for_a_slow_answer_is_refused_by_the_config():
    from config import ConfigError, load_config

    with pytest.raises(ConfigError, match="OUTBOX_LEASE_SECONDS must exceed"):
        load_config({"OUTBOX_LEASE_SECONDS": "30"}, env_name="development")
    with pytest.raises(ConfigError, match="SENDGRID_READ_TIMEOUT_SECONDS must be a positive"):
        load_config({"SENDGRID_READ_TIMEOUT_SECONDS": "nan"}, env_name="development")


def test_a_held_email_is_renewed_by_the_heartbeat_and_not_taken_over(db, db_session, clock):
    from notifications.delivery import DEFAULTS, LeaseKeeper, claim_due, release_expired_leases

    email = _email(db_session, now=clock())
    keeper = LeaseKeeper(db, DEFAULTS, clock)
    claimed = claim_due(db, now=clock())
    keeper._held = {e.id: (e.attempts, e.lease_until) for e in claimed}  # no thread here
    for _ in range(30):  # 30 heartbeats: two and a half minutes, far past one lease
        clock.advance(seconds=DEFAULTS.heartbeat.total_seconds())
        assert keeper.renew() == 1
        assert release_expired_leases(db, now=clock()) == 0
        assert claim_due(db, now=clock()) == []
    assert keeper.remaining(email.id, clock()) == DEFAULTS.lease
    keeper.close()


def test_a_dead_workers_email_is_sent_by_another_worker_after_one_lease(
    db, db_session, clock, sendgrid, mocked
):
    from notifications.delivery import DEFAULTS, claim_due

    _accept(mocked)
    _email(db_session, now=clock())
    claim_due(db, now=clock())  # claimed, then the worker is killed: no heartbeat
    clock.advance(seconds=DEFAULTS.lease.total_seconds() - 1)
    assert dispatch_due(db, sendgrid, clock=clock).claimed == 0
    clock.advance(seconds=2)
    assert dispatch_due(db, sendgrid, clock=clock).sent == 1
    [row] = _rows(db_session)
    assert (row.status, row.attempts) == (EmailStatus.SENT, 2)


def test_an_email_whose_lease_cannot_cover_a_request_is_not_sent(
    db, db_session, clock, sendgrid, mocked
):
    from notifications.delivery import DEFAULTS, LeaseKeeper, claim_due, deliver_claimed

    _accept(mocked)
    _email(db_session, now=clock())
    keeper = LeaseKeeper(db, DEFAULTS, clock)
    [email] = claim_due(db, now=clock())
    keeper._held = {email.id: (email.attempts, email.lease_until)}
    clock.advance(seconds=10)  # no renewal (database unreachable): 35 s left < 38.05 s
    assert deliver_claimed(db, sendgrid, email, clock=clock, leases=keeper) == "deferred"
    assert len(mocked.calls) == 0
    [row] = _rows(db_session)
    assert (row.status, row.attempts) == (EmailStatus.PENDING, 0)


def test_an_answer_recorded_after_the_lease_ran_out_still_counts_if_nobody_took_over(
    db, db_session, clock, sendgrid, mocked
):
    from notifications.delivery import DEFAULTS, claim_due, deliver_claimed

    _accept(mocked, "msg-late")
    _email(db_session, now=clock())
    [email] = claim_due(db, now=clock())
    clock.advance(seconds=DEFAULTS.lease.total_seconds() + 1)
    from notifications.delivery import release_expired_leases

    assert release_expired_leases(db, now=clock()) == 1  # another worker's sweep
    assert deliver_claimed(db, sendgrid, email, clock=clock) == "sent"
    assert dispatch_due(db, sendgrid, clock=clock).claimed == 0  # not sent a second time
    [row] = _rows(db_session)
    assert (row.status, row.provider_message_id) == (EmailStatus.SENT, "msg-late")


def test_an_answer_after_another_worker_took_over_does_not_overwrite_its_claim(
    db, db_session, clock, sendgrid, mocked
):
    from notifications.delivery import DEFAULTS, claim_due, deliver_claimed

    mocked.add(responses.POST, SENDGRID_URL, status=503, body="unavailable")
    _email(db_session, now=clock())
    [first] = claim_due(db, now=clock())
    clock.advance(seconds=DEFAULTS.lease.total_seconds() + 1)
    dispatch_due(db, DevelopmentSender(), clock=clock)  # the other worker sends it
    assert deliver_claimed(db, sendgrid, first, clock=clock) == "lost"
    [row] = _rows(db_session)
    assert (row.status, row.attempts) == (EmailStatus.SENT, 2)


def test_a_429_pauses_sending_until_its_reset_without_spending_attempts(
    db, db_session, clock, sendgrid, mocked
):
    reset = int((clock() + timedelta(seconds=30)).timestamp())
    mocked.add(
        responses.POST,
        SENDGRID_URL,
        status=429,
        json={"errors": [{"message": "too many requests"}]},
        headers={"X-RateLimit-Reset": str(reset)},
    )
    for n in range(5):
        _email(db_session, key=f"test:{n}", now=clock())
    report = dispatch_due(db, sendgrid, clock=clock)
    assert (report.claimed, report.retried, report.deferred) == (5, 1, 4)
    assert len(mocked.calls) == 1, "no request after the 429 until its reset"
    rows = _rows(db_session)
    assert {r.next_attempt_at for r in rows} == {datetime.fromtimestamp(reset, UTC)}
    assert sorted(r.attempts for r in rows) == [0, 0, 0, 0, 1]


def test_a_claim_takes_at_most_its_batch_and_leaves_the_rest_to_other_workers(
    db, db_session, clock
):
    from notifications.delivery import claim_due

    for n in range(30):
        _email(db_session, key=f"test:{n}", now=clock())
    assert len(claim_due(db, now=clock(), limit=10)) == 10
    statuses = [row.status for row in _rows(db_session)]
    assert statuses.count(EmailStatus.SENDING) == 10
    assert statuses.count(EmailStatus.PENDING) == 20


def test_an_accepted_email_is_recorded_once_the_database_is_back(
    db, db_session, clock, sendgrid, mocked
):
    """SendGrid said 202, then the "sent" UPDATE met a restarting database: it is retried
    until it lands, so the email is neither lost nor sent again."""
    from sqlalchemy.exc import OperationalError

    from notifications.delivery import claim_due, deliver_claimed

    _accept(mocked, "msg-kept")
    _email(db_session, now=clock())
    [email] = claim_due(db, now=clock())
    sessions = db.Session
    failures = iter([True, True, False])

    class Restarting:
        def begin(self):
            if next(failures, False):
                raise OperationalError("UPDATE", {}, Exception("server closed the connection"))
            return sessions.begin()

    db.Session = Restarting()
    try:
        assert deliver_claimed(db, sendgrid, email, clock=clock) == "sent"
    finally:
        db.Session = sessions
    assert len(mocked.calls) == 1
    [row] = _rows(db_session)
    assert (row.status, row.provider_message_id) == (EmailStatus.SENT, "msg-kept")
    assert dispatch_due(db, sendgrid, clock=clock).claimed == 0
