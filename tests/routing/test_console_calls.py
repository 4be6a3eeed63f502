"""Live calls, screen-pop and the disposition form through HTTP."""

from __future__ import annotations

from datetime import time, timedelta
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import select

from models import (
    Appointment,
    AuditEntry,
    Call,
    Customer,
    OutboundEmail,
    Outcome,
    Role,
    Task,
    TaskKind,
    utcnow,
)
from routing.desk.booking import free_slots
from routing.desk.zone import org_zone
from tests.factories import (
    make_business_hours,
    make_call,
    make_customer,
    make_salesperson,
    make_user,
)
from tests.test_app import csrf_from, login
from tests.twilio_signing import signed_post

CALLER = {
    "caller_name": "Dana Buyer",
    "caller_phone": "202-555-0143",
    "caller_email": "dana@buyer.example.com",
}


@pytest.fixture
def app_overrides():
    return {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "PUBLIC_BASE_URL": "https://sb.example.com"}


@pytest.fixture
def desk(db_session):
    # Every day open around the clock, so a free slot exists whenever the test runs.
    make_business_hours(db_session, opens=time(0, 0), closes=time(23, 59), days=7)
    cora = make_user(db_session, role=Role.COORDINATOR, email="cora@example.com", name="Cora")
    alice = make_salesperson(db_session, name="Alice Seller", email="alice@example.com")
    db_session.commit()
    return cora, alice


def _form(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return csrf_from(page.get_data(as_text=True))


def test_live_page_and_json_show_the_call_and_pop_the_one_i_answered(client, db_session, desk):
    cora, alice = desk
    dana = make_customer(db_session, name="Dana Buyer", company="Kitchens Ltd")
    call = make_call(db_session, line=alice.lines[0], customer=dana, answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    page = client.get("/calls/live").get_data(as_text=True)
    assert "Dana Buyer" in page and "Alice Seller" in page and "Kitchens Ltd" in page
    data = client.get("/calls/live.json").json
    assert data["pop_call_id"] == call.id
    assert data["calls"][0]["state"] == "in progress"


def test_live_rows_come_from_one_template_on_the_page_and_in_its_updates(client, db_session, desk):
    cora, alice = desk
    dana = make_customer(db_session, name="Dana <Buyer>", company="Kitchens & Co")
    call = make_call(db_session, line=alice.lines[0], customer=dana, answered_by=cora)
    make_call(db_session, line=alice.lines[0])
    db_session.commit()
    login(client, cora.email)
    page = client.get("/calls/live").get_data(as_text=True)
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    data = client.get("/calls/live.json").json
    on_page = [" ".join(row.split()) for row in body.split("</tr>")[:-1]]
    in_json = [" ".join(c["html"].split()[:-1]) for c in data["calls"]]
    assert on_page == in_json and len(in_json) == 2
    # Escaped once, by the server; the pop opens where the JSON says the call is.
    assert "Dana &lt;Buyer&gt;" in " ".join(in_json) and "Kitchens &amp; Co" in " ".join(in_json)
    assert data["pop_url"] == f"/calls/{call.id}"
    assert f'data-switchboard="liveCalls">[{call.id}, "{data["pop_url"]}"]' in page


def test_live_page_empty_state(client, desk):
    login(client, desk[0].email)
    assert "No calls right now" in client.get("/calls/live").get_data(as_text=True)


def test_screen_pop_shows_caller_line_and_form(client, db_session, desk):
    cora, alice = desk
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "New caller" in page and "Alice Seller's line" in page
    assert 'name="outcome" value="appointment"' in page
    assert "First call from this caller." in page


def test_dispose_as_appointment_books_and_redirects(client, db_session, desk):
    cora, alice = desk
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    token = _form(client, f"/calls/{call.id}")
    slot = free_slots(db_session, alice.id, zone=org_zone(db_session), now=utcnow())[0]
    response = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": token,
            "outcome": "appointment",
            "slot_start": slot.start.isoformat(),
            "length_minutes": "30",
            **CALLER,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db_session.expire_all()
    appointment = db_session.scalar(select(Appointment))
    assert appointment.start_at == slot.start and appointment.salesperson_id == alice.id
    assert db_session.get(Call, call.id).outcome is Outcome.APPOINTMENT
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Appointment booked and invites queued." in follow


def test_invalid_phone_and_email_re_render_with_field_errors_and_save_nothing(
    client, db_session, desk
):
    cora, alice = desk
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    token = _form(client, f"/calls/{call.id}")
    response = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": token,
            "outcome": "general_enquiry",
            "notes": "asked",
            "caller_name": "Dana",
            "caller_phone": "12345",
            "caller_email": "dana@",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="caller_phone-error"' in page and "is not a valid phone number" in page
    assert 'id="caller_email-error"' in page
    assert 'value="Dana"' in page  # what she typed is kept
    db_session.expire_all()
    assert db_session.get(Call, call.id).disposed_at is None
    assert db_session.scalars(select(Customer)).all() == []


def test_disposing_twice_gives_a_clear_message(client, db_session, desk):
    cora, alice = desk
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    token = _form(client, f"/calls/{call.id}")
    first = client.post(
        f"/calls/{call.id}/disposition", data={"csrf_token": token, "outcome": "wrong_number"}
    )
    assert first.status_code == 302
    second = client.post(
        f"/calls/{call.id}/disposition",
        data={"csrf_token": token, "outcome": "general_enquiry", "notes": "x", **CALLER},
    )
    assert second.status_code == 409
    assert "This call was already closed by Cora" in second.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Call, call.id).outcome is Outcome.WRONG_NUMBER
    assert (
        len(db_session.scalars(select(AuditEntry).where(AuditEntry.action == "disposed")).all())
        == 1
    )


def test_account_manager_gets_403_on_coordinator_pages(client, db_session, desk):
    _, alice = desk
    am = make_user(db_session, role=Role.ACCOUNT_MANAGER, email="am@example.com")
    call = make_call(db_session, line=alice.lines[0])
    db_session.commit()
    login(client, am.email)
    assert client.get("/calls/live").status_code == 403
    assert client.get(f"/calls/{call.id}").status_code == 403
    assert client.get("/enquiries").status_code == 403
    assert client.get("/customers").status_code == 200


def test_disposition_without_csrf_token_is_refused(client, db_session, desk):
    cora, alice = desk
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    response = client.post(f"/calls/{call.id}/disposition", data={"outcome": "wrong_number"})
    assert response.status_code == 400
    db_session.expire_all()
    assert db_session.get(Call, call.id).disposed_at is None


@responses.activate
def test_warm_transfer_redirects_the_live_call_through_twilio(client, db_session, desk):
    cora, alice = desk
    fay = make_user(
        db_session, role=Role.ACCOUNT_MANAGER, name="Fay", capacity=3, phone="+14155550199"
    )
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    sid = "AC" + "1" * 32
    responses.post(
        f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Calls/{call.call_sid}.json",
        json={"sid": call.call_sid, "status": "in-progress"},
    )
    login(client, cora.email)
    token = _form(client, f"/calls/{call.id}")
    response = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": token,
            "outcome": "account_management",
            "account_manager_id": str(fay.id),
            "transfer": "on",
            **CALLER,
        },
    )
    assert response.status_code == 302
    (sent,) = responses.calls
    body = parse_qs(sent.request.body)
    assert body["Url"] == [
        f"https://sb.example.com/twilio/console/transfer/{call.id}/{fay.id}?mode=warm"
    ]
    assert body["Method"] == ["POST"]
    db_session.expire_all()
    assert db_session.scalars(select(Task)).all() == []
    # The TwiML Twilio then fetches rings Fay with an announcement first.
    twiml = signed_post(
        client,
        f"/twilio/console/transfer/{call.id}/{fay.id}?mode=warm",
        {},
        base_url="https://sb.example.com",
    ).get_data(as_text=True)
    assert '<Number method="POST" url="/twilio/console/announce/' in twiml
    assert "+14155550199" in twiml
    announce = signed_post(
        client, f"/twilio/console/announce/{call.id}", {}, base_url="https://sb.example.com"
    ).get_data(as_text=True)
    assert "Transferred call from Dana Buyer on Alice Seller&apos;s line" in announce or (
        "Transferred call from Dana Buyer on Alice Seller's line" in announce
    )


@responses.activate
def test_failed_transfer_falls_back_to_a_callback_task(client, db_session, desk):
    cora, alice = desk
    fay = make_user(
        db_session, role=Role.ACCOUNT_MANAGER, name="Fay", capacity=3, phone="+14155550199"
    )
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    responses.post(
        f"https://api.twilio.com/2010-04-01/Accounts/{'AC' + '1' * 32}/Calls/{call.call_sid}.json",
        status=400,
        json={"code": 21220, "message": "Call is not in-progress"},
    )
    login(client, cora.email)
    token = _form(client, f"/calls/{call.id}")
    response = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": token,
            "outcome": "account_management",
            "account_manager_id": str(fay.id),
            "transfer": "on",
            **CALLER,
        },
        follow_redirects=True,
    )
    assert "A callback task was created for Fay" in response.get_data(as_text=True)
    db_session.expire_all()
    (task,) = db_session.scalars(select(Task)).all()
    assert task.kind is TaskKind.CALLBACK and task.assignee_id == fay.id


def test_console_twiml_requires_twilio_signature(client, db_session, desk):
    response = client.post("/twilio/console/announce/1")
    assert response.status_code == 403


def test_refund_request_through_the_form_queues_escalations(client, db_session, desk):
    cora, alice = desk
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    token = _form(client, f"/calls/{call.id}")
    missing = client.post(
        f"/calls/{call.id}/disposition",
        data={"csrf_token": token, "outcome": "refund_request", **CALLER},
    )
    assert missing.status_code == 422
    assert "Record why the customer wants a refund" in missing.get_data(as_text=True)
    done = client.post(
        f"/calls/{call.id}/disposition",
        data={
            "csrf_token": token,
            "outcome": "refund_request",
            "refund_reason": "Too late",
            **CALLER,
        },
    )
    assert done.status_code == 302
    db_session.expire_all()
    (email,) = db_session.scalars(select(OutboundEmail)).all()
    assert email.to_email == "alice@example.com" and email.kind == "refund-escalation"
    (task,) = db_session.scalars(select(Task)).all()
    assert "https://sb.example.com/tasks/" in email.text_body
    # The save-the-sale outcome is recorded on the task page.
    token = _form(client, f"/tasks/{task.id}")
    bad = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "outcome": "saved"})
    assert bad.status_code == 422 and "Say what happened." in bad.get_data(as_text=True)
    ok = client.post(
        f"/tasks/{task.id}",
        data={"csrf_token": token, "outcome": "lost", "outcome_notes": "Went to a competitor"},
    )
    assert ok.status_code == 302
    db_session.expire_all()
    assert db_session.get(Task, task.id).outcome == "lost"


def test_unknown_call_is_404(client, desk):
    login(client, desk[0].email)
    assert client.get("/calls/999999").status_code == 404


def test_slot_start_is_iso_with_offset_in_the_form(client, db_session, desk):
    cora, alice = desk
    call = make_call(db_session, line=alice.lines[0], answered_by=cora)
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    slot = free_slots(db_session, alice.id, zone=org_zone(db_session), now=utcnow())[0]
    assert f'value="{slot.start.isoformat()}"' in page
    assert slot.start - slot.start.replace(microsecond=0) == timedelta(0)


def test_ringing_call_screen_pop_waits_for_someone_to_take_it(client, db_session, desk):
    cora, alice = desk
    call = make_call(db_session, line=alice.lines[0], status="in-progress")
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "The call is ringing" in page and "Save outcome" not in page
    assert client.get(f"/calls/{call.id}/state.json").json == {"state": "ringing", "outcome": None}
    call.answered_by_id = cora.id
    db_session.commit()
    assert client.get(f"/calls/{call.id}/state.json").json["state"] == "in progress"


def test_live_page_lists_my_older_calls_still_without_outcome(client, db_session, desk):
    cora, alice = desk
    dana = make_customer(db_session, name="Dana Buyer")
    old = make_call(
        db_session,
        line=alice.lines[0],
        customer=dana,
        answered_by=cora,
        status="completed",
        started_at=utcnow() - timedelta(hours=3),
        ended_at=utcnow() - timedelta(hours=3),
    )
    done = make_call(
        db_session,
        line=alice.lines[0],
        answered_by=cora,
        status="completed",
        started_at=utcnow() - timedelta(hours=2),
        disposed_at=utcnow(),
        outcome=Outcome.WRONG_NUMBER,
    )
    db_session.commit()
    login(client, cora.email)
    page = client.get("/calls/live").get_data(as_text=True)
    assert "Your earlier calls still without an outcome" in page
    assert f'href="/calls/{old.id}"' in page and f'href="/calls/{done.id}"' not in page
