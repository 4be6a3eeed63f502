"""POST /sendgrid/events: signed like SendGrid signs, deduplicated, bounces flag the address."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from config import ProductionConfig
from models import Customer, EmailEvent, EmailStatus, OutboundEmail, Role, utcnow
from notifications.jobs import JobSettings, create_job
from notifications.senders import IDEMPOTENCY_ARG
from routing import create_app
from routing.database import get_db
from tests.factories import make_user

PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = base64.b64encode(
    PRIVATE_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


@pytest.fixture
def app_overrides():
    return {"SENDGRID_EVENT_PUBLIC_KEY": PUBLIC_KEY}


def signed_headers(body: bytes, key=PRIVATE_KEY, timestamp: str | None = None) -> dict[str, str]:
    """What SendGrid sends: ECDSA P-256/SHA-256 over timestamp + raw body, base64 DER."""
    timestamp = timestamp or str(int(time.time()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def post(client, events, headers=None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(events).encode()
    return client.post(
        "/sendgrid/events",
        data=body,
        headers=headers if headers is not None else signed_headers(body),
    )


@pytest.fixture
def sent_intro(db_session):
    manager = make_user(
        db_session, role=Role.ACCOUNT_MANAGER, capacity=5, email="carol@example.com"
    )
    job = create_job(
        db_session,
        reference="4711",
        customer={"name": "Dana Diaz", "email": "dana@example.com"},
        eta="2026-12-10",
        account_manager_email=manager.email,
        actor="test",
        settings=JobSettings(),
        now=utcnow(),
    )
    intro = db_session.scalar(
        select(OutboundEmail).where(
            OutboundEmail.job_id == job.id, OutboundEmail.kind == "introduction"
        )
    )
    intro.status = EmailStatus.SENT
    intro.provider_message_id = "14c5d75ce93"
    db_session.commit()
    return intro


def _event(event_id, kind, **extra):
    return {
        "sg_event_id": event_id,
        "event": kind,
        "email": "dana@example.com",
        "timestamp": 1764579600,
        "sg_message_id": "14c5d75ce93.filterdrecv-p3las1-5bf6fbc2b4-9zvfv-18-5F5A.0",
        **extra,
    }


def test_signed_delivered_event_is_stored_and_shown_on_the_email(client, db_session, sent_intro):
    response = post(client, [_event("ev-1", "processed"), _event("ev-2", "delivered")])
    assert response.status_code == 200
    assert response.json == {"stored": 2, "duplicates": 0, "unmatched": 0}
    db_session.expire_all()
    assert sent_intro.delivery_state == "delivered"
    assert [e.event for e in sent_intro.events] == ["processed", "delivered"]


def test_events_match_by_custom_args_key(client, db_session, sent_intro):
    event = _event("ev-k", "open", sg_message_id="unknown.filter")
    event[IDEMPOTENCY_ARG] = sent_intro.idempotency_key
    assert post(client, [event]).json["unmatched"] == 0
    db_session.expire_all()
    assert sent_intro.delivery_state == "open"


def test_duplicate_events_are_ignored_and_late_ones_do_not_go_back(client, db_session, sent_intro):
    post(client, [_event("ev-1", "delivered"), _event("ev-1", "delivered")])
    again = post(client, [_event("ev-1", "delivered"), _event("ev-0", "processed")])
    assert again.json == {"stored": 1, "duplicates": 1, "unmatched": 0}
    assert db_session.scalar(select(func.count(EmailEvent.id))) == 2
    db_session.expire_all()
    assert sent_intro.delivery_state == "delivered"


def test_unsigned_or_wrongly_signed_batches_are_403_and_stored_nowhere(
    client, db_session, sent_intro
):
    body = json.dumps([_event("ev-1", "delivered")]).encode()
    other_key = ec.generate_private_key(ec.SECP256R1())
    cases = [
        {"Content-Type": "application/json"},
        signed_headers(body, key=other_key),
        {**signed_headers(body), "X-Twilio-Email-Event-Webhook-Timestamp": "1"},
        {**signed_headers(body), "X-Twilio-Email-Event-Webhook-Signature": "!!not base64!!"},
    ]
    for headers in cases:
        response = post(client, None, headers=headers, raw=body)
        assert response.status_code == 403
        assert response.json["error"] == "the event webhook signature is missing or wrong"
    tampered = body.replace(b"delivered", b"bounce")
    assert post(client, None, headers=signed_headers(body), raw=tampered).status_code == 403
    assert db_session.scalar(select(func.count(EmailEvent.id))) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"event": "delivered"}',
        b'[{"event": "delivered"}]',
        b'[{"sg_event_id": "a", "event": "delivered", "timestamp": "soon"}]',
        b'[{"sg_event_id": "a", "event": "delivered"}, 5]',
        b'[{"sg_event_id": "a", "event": "delivered"}]' + b"]" * 3,
    ],
)
def test_malformed_batches_are_400_and_nothing_is_stored(client, db_session, raw):
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    assert "error" in response.json
    assert db_session.scalar(select(func.count(EmailEvent.id))) == 0


def test_bounce_flags_the_address_and_alerts_the_account_manager(client, db_session, sent_intro):
    response = post(client, [_event("ev-b", "bounce", reason="550 5.1.1 mailbox does not exist")])
    assert response.status_code == 200
    db_session.expire_all()
    customer = db_session.scalar(select(Customer).where(Customer.email == "dana@example.com"))
    assert customer.email_undeliverable is True
    assert sent_intro.delivery_state == "bounce"
    [event] = sent_intro.events
    assert event.reason == "550 5.1.1 mailbox does not exist"
    [alert] = db_session.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "email-undeliverable")
    ).all()
    assert alert.to_email == "carol@example.com"
    assert "dana@example.com" in alert.text_body
    # A repeated drop does not alert twice.
    post(client, [_event("ev-d", "dropped")])
    assert (
        db_session.scalar(
            select(func.count(OutboundEmail.id)).where(OutboundEmail.kind == "email-undeliverable")
        )
        == 1
    )


@pytest.mark.parametrize(
    "age, accepted",
    [(0, True), (9 * 60, True), (11 * 60, False), (3600 * 24, False), (-30, True), (-300, False)],
)
def test_only_fresh_signed_batches_count(client, db_session, sent_intro, age, accepted):
    """A batch captured and replayed later, or dated in the future, is refused."""
    body = json.dumps([_event("ev-1", "bounce")]).encode()
    headers = signed_headers(body, timestamp=str(int(time.time()) - age))
    response = post(client, None, headers=headers, raw=body)
    if accepted:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "timestamp" in response.json["error"]
        assert db_session.scalar(select(func.count(EmailEvent.id))) == 0
        db_session.expire_all()
        customer = db_session.scalar(select(Customer).where(Customer.email == "dana@example.com"))
        assert not customer.email_undeliverable


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_in_a_batch_are_400(client, db_session, sent_intro, constant):
    raw = b'[{"sg_event_id": "a", "event": "delivered", "timestamp": ' + constant + b"}]"
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    assert set(response.json) == {"error", "details"}
    assert db_session.scalar(select(func.count(EmailEvent.id))) == 0


def test_a_batch_over_a_megabyte_is_refused_before_it_is_read(client, db_session):
    events = [_event(f"ev-{n}", "delivered", reason="x" * 1000) for n in range(1100)]
    body = json.dumps(events).encode()
    assert len(body) > 1024 * 1024
    response = post(client, None, raw=body)
    assert response.status_code == 413
    assert db_session.scalar(select(func.count(EmailEvent.id))) == 0


class TestOutsideProductionWithoutPublicKey:
    @pytest.fixture
    def app_overrides(self):
        return {"SENDGRID_EVENT_PUBLIC_KEY": ""}

    def test_unsigned_events_are_accepted_in_development(self, client, db_session, sent_intro):
        response = post(client, [_event("ev-1", "delivered")], headers={})
        assert response.status_code == 200
        assert response.json["stored"] == 1


def production_client(database_url, connection, public_key: str):
    environ = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "s" * 32,
        "TWILIO_AUTH_TOKEN": "t",
        "SENDGRID_EVENT_PUBLIC_KEY": public_key,
    }
    app = create_app(ProductionConfig(environ, {"SERVER_NAME": None}))
    get_db(app).engine.dispose()
    get_db(app).Session.configure(bind=connection, join_transaction_mode="create_savepoint")
    return app.test_client()


def test_production_without_a_key_refuses_every_batch(
    database_url, connection, db_session, sent_intro
):
    """A forged bounce must not mark a customer undeliverable (PRODUCT.md §6)."""
    client = production_client(database_url, connection, public_key="")
    body = json.dumps([_event("ev-1", "bounce")]).encode()
    for headers in ({}, {"Content-Type": "application/json"}, signed_headers(body)):
        response = post(client, None, headers=headers, raw=body)
        assert response.status_code == 403
        assert "SENDGRID_EVENT_PUBLIC_KEY" in response.json["error"]
    assert db_session.scalar(select(func.count(EmailEvent.id))) == 0
    db_session.expire_all()
    customer = db_session.scalar(select(Customer).where(Customer.email == "dana@example.com"))
    assert not customer.email_undeliverable


def test_production_with_the_key_accepts_signed_batches(
    database_url, connection, db_session, sent_intro
):
    client = production_client(database_url, connection, public_key=PUBLIC_KEY)
    assert post(client, [_event("ev-1", "delivered")]).status_code == 200
    assert post(client, [_event("ev-2", "delivered")], headers={}).status_code == 403
