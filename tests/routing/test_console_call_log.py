"""The call log: filters, keyset pages, and each call's timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import CallEvent, Outcome, Role
from routing.desk.calllog import (
    InvalidCallFilter,
    parse_call_filter,
    search_calls,
)
from tests.factories import make_call, make_customer, make_salesperson, make_user
from tests.test_app import login

NEW_YORK = ZoneInfo("America/New_York")
BASE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def calls(db_session):
    cora = make_user(db_session, role=Role.COORDINATOR, name="Cora")
    dev = make_user(db_session, role=Role.COORDINATOR, name="Dev")
    alice = make_salesperson(db_session, name="Alice Seller")
    bob = make_salesperson(db_session, name="Bob Seller")
    dana = make_customer(db_session, name="Dana Buyer", phone="+12025550143")
    made = []
    for i in range(7):
        made.append(
            make_call(
                db_session,
                line=(alice if i % 2 else bob).lines[0],
                customer=dana if i < 3 else None,
                answered_by=cora if i % 3 == 0 else dev,
                started_at=BASE - timedelta(hours=6 * i),
                outcome=Outcome.APPOINTMENT if i == 0 else None,
            )
        )
    db_session.commit()
    return cora, dev, alice, bob, dana, made


def _ids(page):
    return [c.id for c in page.calls]


def test_keyset_pages_walk_every_call_once_newest_first(db_session, calls):
    *_, made = calls
    seen, cursor = [], ""
    for _ in range(5):
        page = search_calls(
            db_session, parse_call_filter({}), zone=NEW_YORK, region="US", cursor=cursor, limit=3
        )
        seen += _ids(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [c.id for c in made]


def test_filters_by_line_caller_coordinator_outcome(db_session, calls):
    cora, dev, alice, bob, dana, made = calls

    def ids(**args):
        found = parse_call_filter({k: str(v) for k, v in args.items()})
        return _ids(search_calls(db_session, found, zone=NEW_YORK, region="US"))

    assert ids(line=alice.lines[0].id) == [made[i].id for i in (1, 3, 5)]
    assert ids(caller="(202) 555-0143") == [made[i].id for i in (0, 1, 2)]
    assert ids(caller="dana") == [made[i].id for i in (0, 1, 2)]
    assert ids(coordinator=cora.id) == [made[i].id for i in (0, 3, 6)]
    assert ids(outcome="appointment") == [made[0].id]
    assert ids(outcome="result:answered") == [c.id for c in made]


def test_dates_are_the_organisations_local_days(db_session, calls):
    *_, made = calls
    # 2 March 2026 in New York runs from 05:00 UTC on the 2nd to 05:00 UTC on the 3rd.
    found = parse_call_filter({"from": "2026-03-02", "to": "2026-03-02"})
    page = search_calls(db_session, found, zone=NEW_YORK, region="US")
    assert _ids(page) == [made[0].id, made[1].id]  # 15:00 and 09:00 UTC; 03:00 is the 1st
    assert found.date_from == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"line": "x"}, "line"),
        ({"outcome": "nonsense"}, "outcome"),
        ({"from": "02/03/2026"}, "from"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
    ],
)
def test_bad_filters_are_refused_with_a_reason(args, field):
    with pytest.raises(InvalidCallFilter) as caught:
        parse_call_filter(args)
    assert caught.value.field == field


def test_call_log_page_filters_and_pages(client, db_session, calls):
    cora, *_ = calls
    login(client, cora.email)
    page = client.get(f"/calls?coordinator={cora.id}").get_data(as_text=True)
    assert "Call log" in page and page.count("/timeline") == 3
    assert client.get("/calls?from=yesterday").status_code == 400
    assert client.get("/calls?cursor=garbage").status_code == 400


def test_timeline_shows_who_was_rung_answered_transfer_voicemail(client, db_session, calls):
    cora, dev, alice, bob, dana, made = calls
    fay = make_user(db_session, role=Role.ACCOUNT_MANAGER, name="Fay")
    call = made[0]
    call.ring_seconds, call.talk_seconds, call.duration_seconds = 7, 95, 130
    start = call.started_at
    events = [
        ("ringing", 0, {}),
        ("whisper-declined", 5, {"coordinator_id": dev.id}),
        ("answered", 7, {"coordinator_id": cora.id}),
        ("transfer-ringing", 60, {"user_id": fay.id, "mode": "warm", "name": "Fay"}),
        ("transfer-missed", 85, {"user_id": fay.id, "dial_status": "no-answer"}),
        (
            "transfer-voicemail",
            110,
            {"user_id": fay.id, "recording_url": "https://api.twilio.com/rec/RE9", "seconds": 14},
        ),
        ("completed", 130, {"CallDuration": "130"}),
    ]
    for status, offset, payload in events:
        db_session.add(
            CallEvent(
                call=call, status=status, at=start + timedelta(seconds=offset), payload=payload
            )
        )
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/calls/{call.id}/timeline").get_data(as_text=True)
    order = [
        "Ringing the coordinator team",
        "Declined after the whisper",
        "Answered",
        "Transfer: ringing",
        "warm transfer",
        "Transfer: not taken",
        "Twilio: no-answer",
        "Voicemail for the account manager",
        "Completed",
    ]
    timeline = page.split('id="call-timeline"')[1]
    positions = [timeline.index(text) for text in order]
    assert positions == sorted(positions)
    assert "by Cora" in page and "Dev" in page and "Fay" in page
    assert "https://api.twilio.com/rec/RE9" in page
    assert "+1:50" in page  # the voicemail, 110 s into the call
    assert "2:10" in page and "1:35" in page  # whole call and talk time
    assert client.get("/calls/999999/timeline").status_code == 404


def test_timeline_is_linked_from_screen_pop_and_customer_page(client, db_session, calls):
    cora, dev, alice, bob, dana, made = calls
    login(client, cora.email)
    link = f"/calls/{made[0].id}/timeline"
    assert link in client.get(f"/calls/{made[0].id}").get_data(as_text=True)
    assert link in client.get(f"/customers/{dana.id}").get_data(as_text=True)


def test_a_call_without_status_callbacks_still_has_its_steps(client, db_session, calls):
    cora, dev, alice, bob, dana, made = calls
    call = made[1]
    call.answered_at = call.started_at + timedelta(seconds=12)
    call.ended_at = call.started_at + timedelta(seconds=200)
    db_session.commit()
    login(client, cora.email)
    page = client.get(f"/calls/{call.id}/timeline").get_data(as_text=True)
    timeline = page.split('id="call-timeline"')[1]
    assert timeline.index("Call came in") < timeline.index("Answered") < timeline.index("Ended")
    assert "on Alice Seller&#39;s line" in timeline or "on Alice Seller's line" in timeline
    assert "by Dev" in timeline and "+0:12" in timeline and "+3:20" in timeline
