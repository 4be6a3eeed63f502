"""Warm and cold transfers to an account manager, driven by Twilio's exact callbacks.

Each test plays the sequence of requests Twilio makes for one transfer (the redirected
caller leg, the announcement to her leg, her key, the <Dial> action with its
DialCallStatus, the caller's key and recording), signed as Twilio signs them, and asserts
the TwiML verbs the caller and the account manager hear.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import select

from models import Call, Role, Task, TaskKind, TaskStatus, utcnow
from tests.factories import make_call, make_customer, make_salesperson, make_user
from tests.test_app import csrf_from, login
from tests.twilio_signing import signed_post

BASE = "https://sb.example.com"
SID = "AC" + "1" * 32


@pytest.fixture
def app_overrides():
    return {"TWILIO_ACCOUNT_SID": SID, "PUBLIC_BASE_URL": BASE}


@pytest.fixture
def parties(db_session):
    cora = make_user(db_session, role=Role.COORDINATOR, name="Cora")
    fay = make_user(
        db_session, role=Role.ACCOUNT_MANAGER, name="Fay", capacity=3, phone="+14155550199"
    )
    alice = make_salesperson(db_session, name="Alice Seller")
    dana = make_customer(db_session, name="Dana Buyer", company="Kitchens Ltd")
    call = make_call(db_session, line=alice.lines[0], customer=dana, answered_by=cora)
    db_session.commit()
    return cora, fay, call


def _post(client, path, params=None):
    response = signed_post(client, path, params or {}, base_url=BASE)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.get_data(as_text=True))


def _verbs(root):
    return [child.tag for child in root]


def _spoken(root):
    return " ".join(el.text or "" for el in root.iter("Say"))


def _dial_leg(call, fay, status, *, call_status="in-progress", mode="warm", duration=None):
    params = {"CallSid": call.call_sid, "DialCallStatus": status, "CallStatus": call_status}
    if duration is not None:
        params["DialCallDuration"] = str(duration)
    return f"/twilio/console/transfer/{call.id}/{fay.id}/complete?mode={mode}", params


def _tasks(db_session):
    db_session.expire_all()
    return db_session.scalars(select(Task)).all()


def _timeline(db_session, call):
    db_session.expire_all()
    return [e.status for e in db_session.get(Call, call.id).events]


def test_warm_transfer_taken_and_ended_by_her_never_says_not_available(client, db_session, parties):
    _, fay, call = parties
    start = _post(client, f"/twilio/console/transfer/{call.id}/{fay.id}?mode=warm")
    assert _verbs(start) == ["Say", "Dial"]
    dial = start.find("Dial")
    assert dial.get("action") == f"/twilio/console/transfer/{call.id}/{fay.id}/complete?mode=warm"
    number = dial.find("Number")
    assert number.text == "+14155550199"
    assert number.get("url") == f"/twilio/console/announce/{call.id}?user={fay.id}"

    announce = _post(
        client, number.get("url"), {"CallSid": "CA-leg", "ParentCallSid": call.call_sid}
    )
    gather = announce.find("Gather")
    assert "Transferred call from Dana Buyer of Kitchens Ltd on Alice Seller's line" in (
        _spoken(gather)
    )
    assert "Press 1" in _spoken(gather)
    assert _verbs(announce) == ["Gather", "Say", "Hangup"]

    taken = _post(client, gather.get("action"), {"CallSid": "CA-leg", "Digits": "1"})
    assert _verbs(taken) == []  # an empty document bridges her to the caller

    # She hangs up first after talking: the caller's <Dial> action says completed.
    path, params = _dial_leg(call, fay, "completed", duration=184)
    done = _post(client, path, params)
    assert _verbs(done) == ["Hangup"]
    assert "not available" not in _spoken(done) and "call you back" not in _spoken(done)
    assert _tasks(db_session) == []
    assert _timeline(db_session, call)[-3:] == [
        "transfer-ringing",
        "transfer-answered",
        "transfer-completed",
    ]


def test_warm_transfer_caller_hangs_up_after_the_talk(client, db_session, parties):
    _, fay, call = parties
    _post(client, f"/twilio/console/transfer/{call.id}/{fay.id}?mode=warm")
    _post(client, f"/twilio/console/transfer/{call.id}/{fay.id}/accept", {"Digits": "1"})
    path, params = _dial_leg(call, fay, "completed", call_status="completed", duration=60)
    done = _post(client, path, params)
    assert _verbs(done) == []
    assert _tasks(db_session) == []


@pytest.mark.parametrize(
    ("dial_status", "apology"),
    [
        ("no-answer", "Fay did not answer."),
        ("busy", "Fay is on another call right now."),
        ("failed", "We could not reach Fay's phone."),
    ],
)
def test_not_answering_or_busy_is_told_honestly_and_leaves_a_callback_task(
    client, db_session, parties, dial_status, apology
):
    _, fay, call = parties
    _post(client, f"/twilio/console/transfer/{call.id}/{fay.id}?mode=warm")
    before = utcnow()
    path, params = _dial_leg(call, fay, dial_status)
    missed = _post(client, path, params)
    assert _verbs(missed) == ["Say", "Gather", "Say", "Hangup"]
    assert apology in _spoken(missed)
    assert "Fay will call you back within the hour" in _spoken(missed)
    assert "press 1" in _spoken(missed.find("Gather"))
    (task,) = _tasks(db_session)
    assert task.kind is TaskKind.CALLBACK and task.status is TaskStatus.OPEN
    assert task.assignee_id == fay.id and task.call_id == call.id
    assert "Dana Buyer" in task.description
    assert before + timedelta(minutes=59) <= task.due_at <= utcnow() + timedelta(hours=1)
    # Twilio retrying the action never makes a second task.
    _post(client, path, params)
    assert len(_tasks(db_session)) == 1
    assert "transfer-missed" in _timeline(db_session, call)


def test_caller_leaves_her_a_voicemail_after_a_missed_transfer(client, db_session, parties):
    _, fay, call = parties
    path, params = _dial_leg(call, fay, "no-answer")
    missed = _post(client, path, params)
    choice = _post(client, missed.find("Gather").get("action"), {"Digits": "1"})
    assert _verbs(choice) == ["Say", "Record", "Say", "Hangup"]
    record = choice.find("Record")
    assert record.get("maxLength") == "120"
    thanks = _post(
        client,
        record.get("action"),
        {"RecordingUrl": "https://api.twilio.com/rec/RE1", "RecordingDuration": "14"},
    )
    assert _verbs(thanks) == ["Say", "Hangup"]
    assert "Fay has your message" in _spoken(thanks)
    (task,) = _tasks(db_session)
    assert "voicemail" in task.description
    assert db_session.get(Call, call.id).recording_url == "https://api.twilio.com/rec/RE1"
    assert _timeline(db_session, call)[-2:] == ["transfer-missed", "transfer-voicemail"]


def test_caller_asks_to_be_called_back(client, db_session, parties):
    _, fay, call = parties
    path, params = _dial_leg(call, fay, "busy")
    missed = _post(client, path, params)
    bye = _post(client, missed.find("Gather").get("action"), {"Digits": "2"})
    assert _verbs(bye) == ["Say", "Hangup"]
    assert "Fay will call you back" in _spoken(bye)
    assert len(_tasks(db_session)) == 1


def test_her_voicemail_answering_a_warm_transfer_does_not_swallow_the_caller(
    client, db_session, parties
):
    _, fay, call = parties
    announce = _post(client, f"/twilio/console/announce/{call.id}?user={fay.id}")
    # Her voicemail never presses 1: the <Gather> times out and her leg hangs up.
    assert _verbs(announce)[-1] == "Hangup"
    path, params = _dial_leg(call, fay, "completed", duration=9)
    missed = _post(client, path, params)
    assert "Fay could not take your call right now." in _spoken(missed)
    assert missed.find("Gather") is not None
    assert len(_tasks(db_session)) == 1


def test_declining_with_another_key_hangs_up_her_leg(client, db_session, parties):
    _, fay, call = parties
    declined = _post(client, f"/twilio/console/transfer/{call.id}/{fay.id}/accept", {"Digits": "9"})
    assert _verbs(declined) == ["Hangup"]
    path, params = _dial_leg(call, fay, "completed")
    assert "could not take your call" in _spoken(_post(client, path, params))


def test_cold_transfer_connects_at_once(client, db_session, parties):
    _, fay, call = parties
    start = _post(client, f"/twilio/console/transfer/{call.id}/{fay.id}?mode=cold")
    number = start.find("Dial/Number")
    assert number.text == "+14155550199" and number.get("url") is None
    assert start.find("Dial").get("action").endswith("/complete?mode=cold")
    path, params = _dial_leg(call, fay, "completed", mode="cold", duration=30)
    assert _verbs(_post(client, path, params)) == ["Hangup"]
    assert _tasks(db_session) == []


def test_caller_hanging_up_while_she_rings_still_gets_a_callback(client, db_session, parties):
    _, fay, call = parties
    path, params = _dial_leg(call, fay, "canceled", call_status="completed")
    assert _verbs(_post(client, path, params)) == []
    (task,) = _tasks(db_session)
    assert task.assignee_id == fay.id


def test_transfer_webhooks_refuse_unsigned_requests(client, parties):
    _, fay, call = parties
    response = client.post(
        f"/twilio/console/transfer/{call.id}/{fay.id}/complete?mode=warm",
        data={"DialCallStatus": "completed"},
    )
    assert response.status_code == 403


@responses.activate
def test_cold_transfer_is_chosen_in_the_disposition(client, db_session, parties):
    cora, fay, call = parties
    responses.post(
        f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls/{call.call_sid}.json",
        json={"sid": call.call_sid, "status": "in-progress"},
    )
    login(client, cora.email)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'value="cold"' in page and 'value="warm"' in page
    response = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": csrf_from(page),
            "outcome": "account_management",
            "account_manager_id": str(fay.id),
            "transfer": "cold",
            "caller_name": "Dana Buyer",
            "caller_phone": "202-555-0143",
            "caller_email": "dana@buyer.example.com",
        },
    )
    assert response.status_code == 302
    (sent,) = responses.calls
    assert parse_qs(sent.request.body)["Url"] == [
        f"{BASE}/twilio/console/transfer/{call.id}/{fay.id}?mode=cold"
    ]
    assert _tasks(db_session) == []


def test_the_callback_task_is_on_her_home_page_with_its_deadline(client, db_session, parties):
    _, fay, call = parties
    path, params = _dial_leg(call, fay, "no-answer")
    _post(client, path, params)
    login(client, fay.email)
    home = client.get("/").get_data(as_text=True)
    assert "Call Dana Buyer back: the transfer to you was not answered." in home
    (task,) = _tasks(db_session)
    assert f"/tasks/{task.id}" in home and f"/calls/{call.id}/timeline" in home


def test_manager_without_a_phone_still_gets_the_callback_promised(client, db_session, parties):
    _, fay, call = parties
    fay.phone = None
    db_session.commit()
    sorry = _post(client, f"/twilio/console/transfer/{call.id}/{fay.id}?mode=warm")
    assert _verbs(sorry) == ["Say", "Hangup"]
    assert "Fay will call you back within the hour" in _spoken(sorry)
    (task,) = _tasks(db_session)
    assert task.assignee_id == fay.id


def test_unknown_call_still_reaches_a_voicemail(client, parties):
    _, fay, _ = parties
    lost = _post(client, f"/twilio/console/transfer/999999/{fay.id}")
    assert "Record" in _verbs(lost)
