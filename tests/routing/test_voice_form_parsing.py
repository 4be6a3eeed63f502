"""The incoming-call fast path reads Twilio's form as Flask's webhooks do."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from routing.voice.incoming import parse_form

URL = "https://switchboard.example.com/twilio/voice/incoming"
BODIES = [
    "CallSid=CA1&From=%2B12025550100&To=%2B16465550100",
    "Caller=anonymous&Digits=&Empty&&Name=Jos%C3%A9+%26+Co",
    "To=%2B1&To=%2B2&To=%2B1&From=a+b%2Bc&Plain=%zz&=nameless",
]


def _werkzeug_form(body: str):
    environ = EnvironBuilder(
        method="POST", data=body, content_type="application/x-www-form-urlencoded"
    ).get_environ()
    return Request(environ).form


@pytest.mark.parametrize("body", BODIES)
def test_the_form_and_its_signature_are_the_ones_flask_sees(body):
    expected = _werkzeug_form(body)
    form = parse_form(body)
    assert dict(form) == expected.to_dict()
    assert {name: form.getall(name) for name in form} == expected.to_dict(flat=False)
    validator = RequestValidator("token")
    assert validator.compute_signature(URL, form) == validator.compute_signature(URL, expected)


def test_undecodable_escapes_are_replaced_as_before():
    body = "Bad=%FF%FE&Half=%E2%82&Ok=%E2%82%AC"
    form = parse_form(body)
    assert [(name, value) for name in form for value in form.getall(name)] == parse_qsl(
        body, keep_blank_values=True
    )
    assert form["Ok"] == "€"
