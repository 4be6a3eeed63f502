"""An incoming call: who rings, what the coordinator hears, and what is recorded."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from models import (
    BusinessCalendar,
    BusinessHours,
    Call,
    CallEvent,
    CallResult,
    Customer,
    Holiday,
    Job,
    JobStatus,
    User,
    utcnow,
)
from tests.factories import make_customer, make_salesperson
from tests.routing.test_voice_support import (
    incoming,
    make_office,
    new_sid,
    org_settings,
    parse,
    post,
    said,
)


def the_call(db_session, sid: str) -> Call:
    db_session.expire_all()
    return db_session.scalar(select(Call).where(Call.call_sid == sid))


def test_a_known_line_rings_every_available_coordinator_with_a_whisper(client, db_session):
    office = make_office(db_session, coordinators=3)
    sid, response = incoming(client, to=office.alice_line)
    dial = parse(response).find("Dial")
    assert dial is not None
    assert dial.get("timeout") == "20"
    assert dial.get("action") == "/twilio/voice/dial-complete?round=1"
    assert dial.get("callerId") == office.customer_phone
    numbers = dial.findall("Number")
    assert [n.text for n in numbers] == [c.phone for c in office.coordinators]
    for number, coordinator in zip(numbers, office.coordinators, strict=True):
        assert number.get("url") == (
            f"/twilio/voice/whisper?call={sid}&coordinator={coordinator.id}"
        )

    call = the_call(db_session, sid)
    assert call.line is not None and call.line.salesperson.name == "Alice Smith"
    assert call.customer is not None and call.customer.company == "Acme Limited"
    assert call.result == CallResult.RINGING
    assert call.status == "ringing"
    assert call.within_hours and not call.unknown_line


def test_at_most_ten_coordinators_ring_and_unavailable_ones_never(client, db_session):
    office = make_office(db_session, coordinators=12)
    office.coordinators[0].available = False
    db_session.commit()
    _sid, response = incoming(client, to=office.alice_line)
    numbers = [n.text for n in parse(response).iter("Number")]
    assert len(numbers) == 10
    assert office.coordinators[0].phone not in numbers


def test_a_repeated_webhook_answers_the_same_and_creates_nothing(client, db_session):
    office = make_office(db_session)
    sid, first = incoming(client, to=office.alice_line)
    _sid, second = incoming(client, to=office.alice_line, sid=sid)
    assert first.data == second.data
    count = db_session.scalar(select(func.count()).select_from(Call).where(Call.call_sid == sid))
    assert count == 1


def test_the_whisper_names_line_customer_jobs_and_account_manager(client, db_session):
    office = make_office(db_session)
    sid, _ = incoming(client, to=office.alice_line)
    coordinator = office.coordinators[0]
    root = parse(
        post(
            client,
            f"/twilio/voice/whisper?call={sid}&coordinator={coordinator.id}",
            CallSid=new_sid(),
            ParentCallSid=sid,
        )
    )
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == (
        f"/twilio/voice/whisper-answer?call={sid}&coordinator={coordinator.id}"
    )
    text = said(gather)
    assert text == (
        "Call for Alice Smith's line. Acme Limited. Open job 4711, account manager "
        "Bob Jones. Press 1 to take the call."
    )


def test_pressing_1_connects_and_records_who_answered(client, db_session):
    office = make_office(db_session)
    sid, _ = incoming(client, to=office.alice_line)
    coordinator = office.coordinators[1]
    root = parse(
        post(
            client,
            f"/twilio/voice/whisper-answer?call={sid}&coordinator={coordinator.id}",
            CallSid=new_sid(),
            ParentCallSid=sid,
            Digits="1",
        )
    )
    assert list(root) == []  # an empty document bridges the coordinator's leg
    call = the_call(db_session, sid)
    assert call.answered_by_id == coordinator.id
    assert call.result == CallResult.ANSWERED
    assert call.answered_at is not None and call.ring_seconds is not None


def test_any_other_key_or_none_hangs_up_that_leg_only(client, db_session):
    office = make_office(db_session)
    sid, _ = incoming(client, to=office.alice_line)
    coordinator = office.coordinators[0]
    path = f"/twilio/voice/whisper-answer?call={sid}&coordinator={coordinator.id}"
    for digits in ("2", ""):
        root = parse(post(client, path, CallSid=new_sid(), ParentCallSid=sid, Digits=digits))
        assert [el.tag for el in root] == ["Hangup"]
    call = the_call(db_session, sid)
    assert call.answered_by_id is None
    assert call.result == CallResult.RINGING
    declined = [e for e in call.events if e.status == "whisper-declined"]
    assert len(declined) == 2


def test_an_unknown_line_still_rings_and_is_flagged(client, db_session):
    office = make_office(db_session)
    sid, response = incoming(client, to="+16465559999")
    assert len(parse(response).findall("Dial/Number")) == len(office.coordinators)
    call = the_call(db_session, sid)
    assert call.unknown_line and call.line_id is None
    root = parse(
        post(
            client,
            f"/twilio/voice/whisper?call={sid}&coordinator=1",
            CallSid=new_sid(),
            ParentCallSid=sid,
        )
    )
    assert said(root).startswith("Call on an unknown line.")


def test_anonymous_withheld_and_malformed_callers_are_routed(client, db_session):
    office = make_office(db_session)
    for caller in ("anonymous", "+266696687", "not a number", ""):
        sid, response = incoming(client, to=office.alice_line, from_=caller)
        dial = parse(response).find("Dial")
        assert dial is not None and dial.get("callerId") is None
        call = the_call(db_session, sid)
        assert call.caller_number is None and call.customer_id is None
        whisper = parse(
            post(
                client,
                f"/twilio/voice/whisper?call={sid}&coordinator=1",
                CallSid=new_sid(),
                ParentCallSid=sid,
            )
        )
        assert "Withheld number, new caller." in said(whisper)


def test_an_unknown_caller_is_a_new_caller(client, db_session):
    office = make_office(db_session)
    sid, _ = incoming(client, to=office.alice_line, from_="+13125550199")
    call = the_call(db_session, sid)
    assert call.caller_number == "+13125550199" and call.customer_id is None
    whisper = parse(
        post(
            client,
            f"/twilio/voice/whisper?call={sid}&coordinator=1",
            CallSid=new_sid(),
            ParentCallSid=sid,
        )
    )
    assert said(whisper) == "Call for Alice Smith's line. New caller. Press 1 to take the call."


def test_national_format_caller_is_normalised_and_matched(client, db_session):
    office = make_office(db_session)
    sid, _ = incoming(client, to=office.alice_line, from_="(312) 555-0199")
    assert the_call(db_session, sid).caller_number == "+13125550199"


def test_no_coordinator_available_goes_to_voicemail_in_the_salespersons_name(client, db_session):
    office = make_office(db_session)
    for coordinator in office.coordinators:
        coordinator.available = False
    db_session.commit()
    sid, response = incoming(client, to=office.alice_line)
    root = parse(response)
    assert root.find("Dial") is None
    assert "Alice Smith's line" in said(root)
    record = root.find("Record")
    assert record is not None
    assert record.get("transcribe") == "true"
    assert record.get("maxLength") == "120"
    assert record.get("action") == "/twilio/voice/recording"
    assert record.get("transcribeCallback") == "/twilio/voice/transcription"
    assert the_call(db_session, sid).result == CallResult.NO_ANSWER


def test_on_a_holiday_callers_hear_the_office_is_closed(client, db_session):
    office = make_office(db_session)
    org_settings(db_session, timezone="Pacific/Auckland")
    today = BusinessCalendar.load(db_session).local(utcnow()).date()
    db_session.add(Holiday(day=today, name="Founders' day"))
    db_session.commit()
    sid, response = incoming(client, to=office.alice_line)
    root = parse(response)
    assert root.find("Dial") is None and root.find("Record") is not None
    assert "Our office is closed" in said(root)
    assert the_call(db_session, sid).within_hours is False


def test_outside_opening_hours_go_to_voicemail(client, db_session):
    office = make_office(db_session)
    # Open only one minute a week, on a day that is not today: closed now.
    weekday = (BusinessCalendar.load(db_session).local(utcnow()).weekday() + 3) % 7
    db_session.add(BusinessHours(weekday=weekday, opens_at=time(9), closes_at=time(9, 1)))
    db_session.commit()
    _sid, response = incoming(client, to=office.alice_line)
    assert "Our office is closed" in said(parse(response))


def test_directory_edits_are_seen_by_the_next_call(client, db_session, app):
    office = make_office(db_session, coordinators=2)
    _sid, first = incoming(client, to=office.alice_line)
    assert len(parse(first).findall("Dial/Number")) == 2
    cache = app.extensions["switchboard_directory_cache"]
    loads = cache.loads
    incoming(client, to=office.alice_line)
    assert cache.loads == loads  # nothing changed: no reload

    office.coordinators[0].available = False
    db_session.commit()
    _sid, after = incoming(client, to=office.alice_line)
    assert [n.text for n in parse(after).findall("Dial/Number")] == [office.coordinators[1].phone]

    newcomer = User(
        name="New Coordinator", email="new@example.com", phone="+14155557777", role="coordinator"
    )
    db_session.add(newcomer)
    db_session.commit()
    _sid, later = incoming(client, to=office.alice_line)
    assert "+14155557777" in [n.text for n in parse(later).findall("Dial/Number")]


def test_status_events_are_kept_in_the_timeline(client, db_session):
    office = make_office(db_session)
    sid, _ = incoming(client, to=office.alice_line)
    post(client, "/twilio/voice/status", CallSid=sid, CallStatus="in-progress", SequenceNumber="1")
    events = db_session.scalars(select(CallEvent).join(Call).where(Call.call_sid == sid)).all()
    assert [e.status for e in events] == ["in-progress"]
    assert the_call(db_session, sid).status == "in-progress"


def test_a_holiday_row_on_another_day_changes_nothing(client, db_session):
    office = make_office(db_session)
    db_session.add(Holiday(day=date(2001, 1, 1), name="Long ago"))
    db_session.commit()
    _sid, response = incoming(client, to=office.alice_line)
    assert parse(response).find("Dial") is not None


def test_the_whisper_lists_several_jobs_and_says_when_there_are_none(client, db_session):
    office = make_office(db_session)
    customer = db_session.scalar(select(Customer).where(Customer.phone == office.customer_phone))
    db_session.add(Job(reference="4712", customer_id=customer.id, eta_date=date(2026, 12, 2)))
    db_session.add(
        Job(
            reference="4700",
            customer_id=customer.id,
            eta_date=date(2026, 1, 2),
            status=JobStatus.DELIVERED,
        )
    )
    db_session.commit()
    sid, _ = incoming(client, to=office.alice_line)
    text = said(
        parse(
            post(
                client,
                f"/twilio/voice/whisper?call={sid}&coordinator=1",
                CallSid=new_sid(),
                ParentCallSid=sid,
            )
        )
    )
    assert "Open jobs " in text and "4711" in text and "4712" in text
    assert "4700" not in text  # delivered jobs are not mentioned
    assert "account manager Bob Jones" in text

    other = make_customer(db_session, name="Dana Solo", phone="+12025550177")
    sid, _ = incoming(client, to=office.alice_line, from_=other.phone)
    text = said(
        parse(
            post(
                client,
                f"/twilio/voice/whisper?call={sid}&coordinator=1",
                CallSid=new_sid(),
                ParentCallSid=sid,
            )
        )
    )
    assert text == "Call for Alice Smith's line. Dana Solo. No open jobs. Press 1 to take the call."


def test_a_line_added_after_the_last_call_is_known_to_the_next_one(client, db_session):
    office = make_office(db_session)
    incoming(client, to=office.alice_line)  # the process now caches the directory
    newcomer = make_salesperson(db_session, name="Nina New", twilio_number="+16465550777")
    db_session.commit()
    sid, response = incoming(client, to="+16465550777")
    assert parse(response).find("Dial") is not None
    call = the_call(db_session, sid)
    assert call.unknown_line is False and call.line_id == newcomer.lines[0].id
    whisper = parse(
        post(
            client,
            f"/twilio/voice/whisper?call={sid}&coordinator=1",
            CallSid=new_sid(),
            ParentCallSid=sid,
        )
    )
    assert said(whisper).startswith("Call for Nina New's line.")


def test_closing_the_office_is_seen_by_the_next_call(client, db_session):
    office = make_office(db_session)
    _sid, before = incoming(client, to=office.alice_line)
    assert parse(before).find("Dial") is not None
    today = BusinessCalendar.load(db_session).local(utcnow()).date()
    db_session.add(Holiday(day=today, name="Snow day"))
    db_session.commit()
    sid, after = incoming(client, to=office.alice_line)
    assert parse(after).find("Dial") is None and "Our office is closed" in said(parse(after))
    call = the_call(db_session, sid)
    assert call.within_hours is False and call.result == CallResult.NO_ANSWER


def test_names_and_caller_ids_with_characters_xml_cannot_carry_still_give_twiml(client, db_session):
    """A salesperson's name and a customer's company imported with a control character:
    the caller still hears the voicemail and the coordinator the whisper, without it."""
    person = make_salesperson(db_session, name="Dana\x0b Field")
    line = person.lines[0].twilio_number
    sid, response = incoming(client, to=line)
    assert "Dana Field" in said(parse(response))

    office = make_office(db_session)
    make_customer(db_session, phone="+12025550166", company="Tools\x01\x1f Direct")
    sid, _ = incoming(client, to=office.alice_line, from_="+12025550166")
    whisper = parse(
        post(
            client,
            f"/twilio/voice/whisper?call={sid}&coordinator={office.coordinators[0].id}",
            CallSid=new_sid(),
            ParentCallSid=sid,
        )
    )
    assert "Tools Direct" in said(whisper)
