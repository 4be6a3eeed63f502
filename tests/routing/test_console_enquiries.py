"""The missed-enquiries queue through HTTP: list, claim, click-to-call, resolve."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses

from models import Enquiry, EnquiryStatus, Outcome, Role, utcnow
from tests.factories import make_call, make_customer, make_enquiry, make_salesperson, make_user
from tests.test_app import csrf_from, login
from tests.twilio_signing import signed_post

ACCOUNT_SID = "AC" + "2" * 32


@pytest.fixture
def app_overrides():
    return {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "PUBLIC_BASE_URL": "https://sb.example.com"}


@pytest.fixture
def queue(db_session):
    cora = make_user(
        db_session,
        role=Role.COORDINATOR,
        email="cora@example.com",
        name="Cora",
        phone="+14155550101",
    )
    alice = make_salesperson(db_session, name="Alice Seller", twilio_number="+16465550111")
    call = make_call(
        db_session,
        line=alice.lines[0],
        status="completed",
        result="voicemail",
        caller_number="+12025550143",
    )
    late = make_enquiry(
        db_session,
        call=call,
        sla_deadline=utcnow() - timedelta(minutes=3),
        transcript="Please call me about my kitchen",
    )
    soon = make_enquiry(
        db_session, line=alice.lines[0], sla_deadline=utcnow() + timedelta(minutes=10)
    )
    db_session.commit()
    return cora, alice, late, soon


def _token(client, path="/enquiries"):
    return csrf_from(client.get(path).get_data(as_text=True))


def test_queue_lists_most_urgent_first_with_countdown(client, queue):
    cora, _, late, soon = queue
    login(client, cora.email)
    page = client.get("/enquiries").get_data(as_text=True)
    assert page.index(f'data-enquiry-id="{late.id}"') < page.index(f'data-enquiry-id="{soon.id}"')
    assert 'class="countdown badge bad"' in page  # the breached one
    assert "Please call me about my kitchen" in page
    assert client.get("/enquiries/queue.json").json == {
        "open": 2,
        "breached": 1,
        "ids": [late.id, soon.id],
    }


def test_a_long_queue_shows_the_most_urgent_and_counts_them_all(client, db_session):
    from routing.console.enquiries import QUEUE_SHOWN

    cora = make_user(db_session, email="cora@example.com")
    alice = make_salesperson(db_session)
    now = utcnow()
    made = [
        make_enquiry(
            db_session, line=alice.lines[0], sla_deadline=now + timedelta(minutes=i - 3, seconds=30)
        )
        for i in range(QUEUE_SHOWN + 5)
    ]
    db_session.commit()
    login(client, cora.email)
    page = client.get("/enquiries").get_data(as_text=True)
    assert page.count("data-enquiry-id=") == QUEUE_SHOWN
    assert f"Showing the {QUEUE_SHOWN} most urgent of {QUEUE_SHOWN + 5} open enquiries." in page
    assert f'data-enquiry-id="{made[QUEUE_SHOWN].id}"' not in page
    state = client.get("/enquiries/queue.json").json
    assert state["open"] == QUEUE_SHOWN + 5
    assert state["breached"] == 3
    assert state["ids"] == [e.id for e in made[:QUEUE_SHOWN]]


def test_empty_queue_says_so(client, db_session):
    cora = make_user(db_session, email="cora@example.com")
    db_session.commit()
    login(client, cora.email)
    assert "No missed enquiries." in client.get("/enquiries").get_data(as_text=True)


def test_claim_then_another_coordinator_is_told_who_has_it(client, db_session, queue):
    cora, _, late, _ = queue
    olga = make_user(db_session, email="olga@example.com", name="Olga")
    db_session.commit()
    login(client, cora.email)
    response = client.post(
        f"/enquiries/{late.id}/claim", data={"csrf_token": _token(client)}, follow_redirects=True
    )
    assert "Enquiry claimed" in response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": _token(client)})
    login(client, olga.email)
    response = client.post(
        f"/enquiries/{late.id}/claim", data={"csrf_token": _token(client)}, follow_redirects=True
    )
    assert "Cora has already claimed this enquiry." in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Enquiry, late.id).owner_id == cora.id


@responses.activate
def test_click_to_call_rings_the_coordinator_then_dials_the_customer(client, db_session, queue):
    cora, _, late, _ = queue
    responses.post(
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
        json={"sid": "CA" + "9" * 32, "status": "queued"},
        status=201,
    )
    login(client, cora.email)
    response = client.post(
        f"/enquiries/{late.id}/call", data={"csrf_token": _token(client)}, follow_redirects=True
    )
    assert "Calling you on +14155550101 now" in response.get_data(as_text=True)
    (sent,) = responses.calls
    body = parse_qs(sent.request.body)
    assert body["To"] == ["+14155550101"] and body["From"] == ["+16465550111"]
    assert body["Url"] == [f"https://sb.example.com/twilio/console/callback/{late.id}"]
    db_session.expire_all()
    enquiry = db_session.get(Enquiry, late.id)
    assert enquiry.status is EnquiryStatus.CLAIMED and enquiry.owner_id == cora.id
    twiml = signed_post(
        client,
        f"/twilio/console/callback/{late.id}",
        {"CallSid": "CA" + "9" * 32},
        base_url="https://sb.example.com",
    ).get_data(as_text=True)
    assert '<Dial callerId="+16465550111"' in twiml and "<Number>+12025550143</Number>" in twiml


@responses.activate
def test_click_to_call_when_twilio_refuses_shows_why(client, db_session, queue):
    cora, _, late, _ = queue
    responses.post(
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
        json={"code": 21210, "message": "The source phone number is not verified"},
        status=400,
    )
    login(client, cora.email)
    response = client.post(
        f"/enquiries/{late.id}/call", data={"csrf_token": _token(client)}, follow_redirects=True
    )
    assert "Twilio refused to place the call" in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Enquiry, late.id).status is EnquiryStatus.OPEN


def test_resolve_with_bad_email_re_renders_then_resolves(client, db_session, queue):
    cora, alice, late, _ = queue
    login(client, cora.email)
    token = _token(client, f"/enquiries/{late.id}")
    bad = client.post(
        f"/enquiries/{late.id}/resolve",
        data={
            "csrf_token": token,
            "outcome": "general_enquiry",
            "notes": "Kitchen question",
            "caller_name": "Dana",
            "caller_phone": "+12025550143",
            "caller_email": "dana@@x",
        },
    )
    assert bad.status_code == 422 and 'id="caller_email-error"' in bad.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Enquiry, late.id).status is EnquiryStatus.OPEN
    ok = client.post(
        f"/enquiries/{late.id}/resolve",
        data={
            "csrf_token": token,
            "outcome": "general_enquiry",
            "notes": "Kitchen question",
            "caller_name": "Dana",
            "caller_phone": "+12025550143",
            "caller_email": "dana@example.com",
        },
    )
    assert ok.status_code == 302
    db_session.expire_all()
    enquiry = db_session.get(Enquiry, late.id)
    assert enquiry.status is EnquiryStatus.RESOLVED and enquiry.outcome is Outcome.GENERAL_ENQUIRY
    again = client.post(
        f"/enquiries/{late.id}/resolve", data={"csrf_token": token, "outcome": "wrong_number"}
    )
    assert again.status_code == 409
    assert "already closed by Cora" in again.get_data(as_text=True)


def test_resolve_without_csrf_is_refused(client, db_session, queue):
    cora, _, late, _ = queue
    login(client, cora.email)
    assert (
        client.post(f"/enquiries/{late.id}/resolve", data={"outcome": "wrong_number"}).status_code
        == 400
    )
    assert client.post(f"/enquiries/{late.id}/claim").status_code == 400
    db_session.expire_all()
    assert db_session.get(Enquiry, late.id).status is EnquiryStatus.OPEN


def test_account_manager_cannot_work_the_queue(client, db_session, queue):
    _, _, late, _ = queue
    am = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="am@example.com")
    db_session.commit()
    login(client, am.email)
    token = csrf_from(client.get("/customers").get_data(as_text=True))
    assert client.post(f"/enquiries/{late.id}/claim", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/enquiries/{late.id}").status_code == 403


def test_claim_never_redirects_off_site(client, queue):
    cora, _, late, _ = queue
    login(client, cora.email)
    response = client.post(
        f"/enquiries/{late.id}/claim",
        data={"csrf_token": _token(client), "next": "//evil.example.com/x"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/enquiries"


def test_owner_can_release_a_claimed_enquiry_back_to_the_queue(client, db_session, queue):
    cora, _, late, _ = queue
    login(client, cora.email)
    client.post(f"/enquiries/{late.id}/claim", data={"csrf_token": _token(client)})
    page = client.get("/enquiries").get_data(as_text=True)
    assert f'action="/enquiries/{late.id}/release"' in page
    response = client.post(
        f"/enquiries/{late.id}/release", data={"csrf_token": _token(client)}, follow_redirects=True
    )
    assert "Enquiry returned to the queue." in response.get_data(as_text=True)
    db_session.expire_all()
    enquiry = db_session.get(Enquiry, late.id)
    assert enquiry.status is EnquiryStatus.OPEN and enquiry.owner_id is None


def test_enquiry_page_shows_the_customers_open_jobs_and_past_calls(client, db_session, queue):
    from models import Job

    cora, alice, late, _ = queue
    dana = make_customer(db_session, name="Dana Buyer", phone="+12025550143")
    db_session.add(Job(reference="ORD-31", customer_id=dana.id, eta_date=utcnow().date()))
    late.call.customer_id = dana.id
    earlier = make_call(
        db_session,
        line=alice.lines[0],
        customer=dana,
        status="completed",
        started_at=utcnow() - timedelta(days=3),
    )
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/enquiries/{late.id}").get_data(as_text=True)
    assert "ORD-31" in page and f'href="/calls/{earlier.id}"' in page
