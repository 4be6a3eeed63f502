"""/incoming on a real PostgreSQL engine (no outer test transaction), as in production."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, select

from models import Call, Customer, Line, Salesperson, make_engine, utcnow
from routing import create_app
from routing.database import get_db
from tests.conftest import make_test_config
from tests.twilio_signing import signed_post

pytestmark = pytest.mark.postgres


@pytest.fixture
def live_app(database_url, engine):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL pointing at PostgreSQL")
    app = create_app(make_test_config(database_url))
    yield app
    get_db(app).dispose()


@pytest.fixture
def committed_line(database_url):
    setup = make_engine(database_url)
    with setup.begin() as conn:
        sp = conn.execute(
            Salesperson.__table__.insert()
            .values(name="Pat Live", email="pat.live@example.com", active=True)
            .returning(Salesperson.__table__.c.id)
        ).scalar_one()
        conn.execute(
            Line.__table__.insert().values(
                salesperson_id=sp,
                public_number="+13125559901",
                twilio_number="+16465559901",
                active=True,
            )
        )
    yield "+16465559901"
    with setup.begin() as conn:
        conn.execute(delete(Call).where(Call.to_number == "+16465559901"))
        conn.execute(delete(Line).where(Line.twilio_number == "+16465559901"))
        conn.execute(delete(Salesperson).where(Salesperson.email == "pat.live@example.com"))
    setup.dispose()


def test_incoming_stores_the_call_and_leaves_pooled_connections_transactional(
    live_app, committed_line
):
    client = live_app.test_client()
    params = {"CallSid": "CA" + "7" * 32, "From": "+12025550199", "To": committed_line}
    first = signed_post(client, "/twilio/voice/incoming", params)
    again = signed_post(client, "/twilio/voice/incoming", params)
    assert first.status_code == again.status_code == 200
    assert first.data == again.data
    db = get_db(live_app)
    with db.engine.connect() as conn:
        # The connection the webhook used is back in the pool, in transactional mode.
        assert conn.connection.driver_connection.autocommit is False
        rows = conn.execute(select(Call.result).where(Call.call_sid == params["CallSid"])).all()
    assert len(rows) == 1
    # Work in other areas still gets real transactions: a rolled-back write disappears.
    with db.Session() as session:
        session.execute(
            Call.__table__.insert().values(
                call_sid="CA" + "8" * 32,
                to_number=committed_line,
                from_number="x",
                unknown_line=False,
                status="ringing",
                last_sequence=-1,
                within_hours=True,
                started_at=utcnow(),
                caller_declined=False,
                disposition_details={},
            )
        )
        session.rollback()
    with db.engine.connect() as conn:
        assert conn.execute(select(Call.id).where(Call.call_sid == "CA" + "8" * 32)).first() is None


def test_after_the_database_drops_its_connections_the_next_call_is_stored_again(
    live_app, committed_line
):
    # A restart or failover kills every pooled connection. The call that finds its
    # connection dead gets the fallback TwiML; the next one must reconnect, not fail on
    # the next dead connection in the pool.
    client = live_app.test_client()
    first = {"CallSid": "CA" + "5" * 32, "From": "+12025550199", "To": committed_line}
    assert signed_post(client, "/twilio/voice/incoming", first).status_code == 200
    db = get_db(live_app)
    with db.engine.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name = '' AND backend_type = 'client backend'"
            " AND query LIKE '%%INSERT INTO calls%%'"
        )
    answers = []
    for digit in "6789":
        params = {"CallSid": "CA" + digit * 32, "From": "+12025550199", "To": committed_line}
        answers.append(signed_post(client, "/twilio/voice/incoming", params))
    assert all(a.status_code == 200 for a in answers)
    with db.engine.connect() as conn:
        stored = conn.execute(
            select(Call.call_sid).where(Call.call_sid.in_(["CA" + d * 32 for d in "6789"]))
        ).scalars()
        # At most the first call after the drop missed its row (and got the fallback).
        assert {"CA" + d * 32 for d in "789"} <= set(stored)


def test_a_call_is_not_held_up_by_a_lock_on_its_line_or_its_customer(live_app, committed_line):
    """The incoming call's INSERT locks no row of lines or customers: a transaction holding
    its line and its customer FOR UPDATE (an import, a long admin edit) does not make the
    call wait for it, and the call is stored with both."""
    setup = make_engine(live_app.config["DATABASE_URL"])
    customer_phone = "+12025550177"
    with setup.begin() as conn:
        customer_id = conn.execute(
            Customer.__table__.insert()
            .values(name="Held Row", phone=customer_phone, email="held.row@example.com")
            .returning(Customer.__table__.c.id)
        ).scalar_one()
    client = live_app.test_client()
    params = {"CallSid": "CA" + "6" * 32, "From": customer_phone, "To": committed_line}
    try:
        with setup.connect() as holder:
            holder.execute(
                select(Line.id).where(Line.twilio_number == committed_line).with_for_update()
            )
            holder.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())
            started = time.monotonic()
            answer = signed_post(client, "/twilio/voice/incoming", params)
            waited = time.monotonic() - started
            holder.rollback()
        # Routed (the line's salesperson named), not the fallback TwiML a call gets when
        # its INSERT waits past the 2 s deadline.
        assert answer.status_code == 200
        assert b"Pat Live" in answer.data and waited < 1.0
        with setup.connect() as conn:
            stored = conn.execute(
                select(Call.line_id, Call.customer_id).where(Call.call_sid == params["CallSid"])
            ).one()
        assert stored.customer_id == customer_id and stored.line_id is not None
    finally:
        with setup.begin() as conn:
            conn.execute(delete(Call).where(Call.call_sid == params["CallSid"]))
            conn.execute(delete(Customer).where(Customer.id == customer_id))
        setup.dispose()
