"""``switchboard simulate call`` drives a real local server through whole calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from models import Call, CallResult, Enquiry, EnquiryKind
from routing.cli import main
from tests.routing.test_voice_support import make_office


@pytest.fixture
def server(app) -> Iterator[str]:
    # One thread serves requests one at a time, so the test's transaction is shared safely.
    httpd = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


def simulate(app, server: str, *args: str):
    runner = app.test_cli_runner()
    return runner.invoke(
        main, ["simulate", "call", "--url", server, "--talk", "0", *args], catch_exceptions=False
    )


def last_call(db_session) -> Call:
    db_session.expire_all()
    return db_session.scalars(select(Call).order_by(Call.id.desc())).first()


def test_an_answered_call_is_recorded_with_who_answered(app, server, db_session):
    office = make_office(db_session)
    result = simulate(app, server, "--from", office.customer_phone, "--to", office.alice_line)
    assert result.exit_code == 0, result.output
    assert "Call for Alice Smith's line. Acme Limited. Open job 4711" in result.output
    assert "call completed" in result.output
    call = last_call(db_session)
    assert call.result == CallResult.ANSWERED and call.status == "completed"
    assert call.answered_by_id == office.coordinators[0].id
    assert [e.status for e in call.events if e.sequence_number is not None] == [
        "ringing",
        "in-progress",
        "completed",
    ]


def test_no_answer_leaves_a_transcribed_voicemail(app, server, db_session):
    office = make_office(db_session)
    result = simulate(
        app, server, "--from", "+13125550123", "--to", office.alice_line, "--no-answer"
    )
    assert result.exit_code == 0, result.output
    assert "voicemail left" in result.output
    call = last_call(db_session)
    enquiry = db_session.scalar(select(Enquiry).where(Enquiry.call_id == call.id))
    assert call.result == CallResult.VOICEMAIL
    assert enquiry.kind == EnquiryKind.VOICEMAIL and enquiry.transcript


def test_a_coordinators_voicemail_never_swallows_the_call(app, server, db_session):
    office = make_office(db_session)
    result = simulate(app, server, "--from", "anonymous", "--to", office.alice_line, "--voicemail")
    assert result.exit_code == 0, result.output
    assert "ringing the rest of the team again" in result.output
    assert last_call(db_session).result == CallResult.VOICEMAIL


def test_a_caller_hanging_up_while_it_rings_is_abandoned(app, server, db_session):
    office = make_office(db_session)
    result = simulate(app, server, "--from", "+13125550124", "--to", office.alice_line, "--abandon")
    assert result.exit_code == 0, result.output
    call = last_call(db_session)
    assert call.result == CallResult.ABANDONED


def test_a_wrong_auth_token_is_reported_clearly(app, server, db_session):
    app.config["TWILIO_AUTH_TOKEN"] = "not-the-servers-token"
    try:
        result = app.test_cli_runner().invoke(
            main, ["simulate", "call", "--url", server, "--from", "+1", "--to", "+2"]
        )
    finally:
        app.config["TWILIO_AUTH_TOKEN"] = "test-auth-token"
    assert result.exit_code != 0
    assert "403" in result.output and "TWILIO_AUTH_TOKEN" in result.output
