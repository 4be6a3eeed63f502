"""Every /twilio/ path needs Twilio's signature over the public URL and the form."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from models import Call
from tests.twilio_signing import TEST_AUTH_TOKEN, signed_post, twilio_signature

FALLBACK = "/twilio/voice/fallback"
INCOMING = "/twilio/voice/incoming"
PARAMS = {"CallSid": "CA" + "1" * 32, "From": "+12025550100", "To": "+16465550001"}
# /incoming is answered in front of Flask (routing/voice/incoming.py), every other path
# by Flask behind the app-wide check: both must refuse and accept the same requests.
both_paths = pytest.mark.parametrize("path", [FALLBACK, INCOMING])


@both_paths
def test_a_correctly_signed_request_is_served(client, path):
    response = signed_post(client, path, PARAMS)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"


@both_paths
def test_a_missing_signature_is_refused_and_logged(client, caplog, path):
    with caplog.at_level(logging.WARNING):
        response = client.post(path, data=PARAMS)
    assert response.status_code == 403
    assert b"<Response" not in response.data
    assert "missing Twilio signature" in caplog.text


@both_paths
def test_a_forged_signature_is_refused(client, caplog, path):
    forged = twilio_signature("http://localhost" + path, PARAMS, token="not-our-token")
    with caplog.at_level(logging.WARNING):
        response = client.post(path, data=PARAMS, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403
    assert "bad Twilio signature" in caplog.text


@both_paths
def test_tampered_parameters_are_refused(client, path):
    signature = twilio_signature("http://localhost" + path, PARAMS)
    tampered = {**PARAMS, "From": "+19995550000"}
    response = client.post(path, data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_an_oversized_incoming_form_is_refused_and_stores_nothing(client, db_session):
    before = db_session.scalar(select(func.count()).select_from(Call))
    big = {**PARAMS, "Padding": "x" * 70_000}
    response = signed_post(client, INCOMING, big)
    assert response.status_code == 413
    assert db_session.scalar(select(func.count()).select_from(Call)) == before


def test_the_query_string_is_part_of_what_is_signed(client):
    path = "/twilio/voice/whisper-answer?call=CA1&coordinator=7"
    signature = twilio_signature("http://localhost/twilio/voice/whisper-answer", PARAMS)
    response = client.post(path, data=PARAMS, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert signed_post(client, path, {**PARAMS, "Digits": "2"}).status_code == 200


def test_unknown_twilio_paths_are_checked_too(client):
    # Other areas' routes under /twilio/ are covered by the same app-wide check.
    assert client.post("/twilio/console/anything", data=PARAMS).status_code == 403
    assert signed_post(client, "/twilio/console/anything", PARAMS).status_code == 404


class TestBehindAProxy:
    @pytest.fixture
    def app_overrides(self):
        return {"PUBLIC_BASE_URL": "https://switchboard.example.com"}

    @both_paths
    def test_signature_over_the_public_url_is_accepted(self, client, path):
        # Twilio requested https://switchboard.example.com/...; the proxy forwarded it
        # to the app as http://localhost/... The public URL is what Twilio signed.
        response = signed_post(client, path, PARAMS, base_url="https://switchboard.example.com")
        assert response.status_code == 200

    @both_paths
    def test_signature_over_the_internal_url_is_refused(self, client, path):
        response = signed_post(client, path, PARAMS, base_url="http://localhost")
        assert response.status_code == 403

    @both_paths
    def test_twilio_adding_the_default_port_is_accepted(self, client, path):
        response = signed_post(client, path, PARAMS, base_url="https://switchboard.example.com:443")
        assert response.status_code == 200


def test_the_helper_signs_with_the_apps_token(app):
    assert app.config["TWILIO_AUTH_TOKEN"] == TEST_AUTH_TOKEN


class _DroppedConnection:
    """A request body the client stopped sending half-way."""

    def read(self, *args: object) -> bytes:
        raise OSError("connection reset by peer")


def test_an_incoming_body_that_cannot_be_read_is_refused_not_a_server_error(app):
    environ = EnvironBuilder(
        path=INCOMING,
        method="POST",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "anything"},
        data="CallSid=CA1",
    ).get_environ()
    environ["wsgi.input"] = _DroppedConnection()
    _body, status, _headers = run_wsgi_app(app, environ)
    assert status.startswith("403")
