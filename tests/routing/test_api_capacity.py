"""What is on the books, through the API: the capacity calendar, 409 on a full day with the
days that have room, overrides with a reason, and PATCHes that keep the day."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import func, select

from models import AuditEntry, EtaOverride, Job, OutboundEmail, Role
from notifications.capacity import set_day, set_per_day
from routing.tokens import create_token
from tests.factories import make_business_hours, make_user


@pytest.fixture
def app_overrides():
    return {"TIMEZONE": "Europe/Berlin"}


@pytest.fixture
def auth(db_session):
    raw = create_token(db_session, "erp")
    make_user(db_session, role=Role.ACCOUNT_MANAGER, email="carol@example.com", capacity=50)
    db_session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _body(reference: str, eta: str, **extra: object) -> dict[str, object]:
    return {
        "reference": reference,
        "customer": {"name": f"Customer {reference}", "email": f"c{reference}@example.com"},
        "eta": eta,
        **extra,
    }


def _post(client, auth, reference, eta, **extra):
    return client.post("/api/v1/jobs", json=_body(reference, eta, **extra), headers=auth)


def _counts(db_session):
    jobs = db_session.scalar(select(func.count(Job.id)))
    emails = db_session.scalar(select(func.count(OutboundEmail.id)))
    return jobs, emails


@pytest.fixture
def two_a_day(db_session):
    """Monday to Friday hours; two deliveries per business day."""
    make_business_hours(db_session, opens=time(8), closes=time(17))
    set_per_day(db_session, 2, actor="test")
    db_session.commit()


def test_capacity_lists_booked_capacity_and_free_per_local_day(client, db_session, auth, two_a_day):
    # Thursday 10 December 2026: a date ETA and a datetime ETA late in the Berlin evening
    # (23:30 Berlin is still the 10th, though it is 22:30 UTC).
    assert _post(client, auth, "A1", "2026-12-10").status_code == 201
    assert _post(client, auth, "A2", "2026-12-10T23:30").status_code == 201
    # 00:30 Berlin on the 11th is the 10th in UTC: it counts on the 11th.
    assert _post(client, auth, "A3", "2026-12-10T23:30:00Z").status_code == 201
    set_day(db_session, date(2026, 12, 14), 0, actor="test")
    db_session.commit()

    response = client.get("/api/v1/capacity?from=2026-12-10&days=5", headers=auth)

    assert response.status_code == 200
    assert response.json == {
        "days": [
            {"date": "2026-12-10", "booked": 2, "capacity": 2, "free": 0},
            {"date": "2026-12-11", "booked": 1, "capacity": 2, "free": 1},
            {"date": "2026-12-12", "booked": 0, "capacity": 0, "free": 0},  # Saturday
            {"date": "2026-12-13", "booked": 0, "capacity": 0, "free": 0},  # Sunday
            {"date": "2026-12-14", "booked": 0, "capacity": 0, "free": 0},  # closed that day
        ]
    }


def test_capacity_without_any_limit_is_null(client, auth):
    response = client.get("/api/v1/capacity?from=2026-12-12&days=1", headers=auth)
    assert response.json == {
        "days": [{"date": "2026-12-12", "booked": 0, "capacity": None, "free": None}]
    }


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01&days=3",
        "from=tomorrow&days=3",
        "from=20261201&days=3",
        "from=2026-12-01&days=367",
        "from=2026-12-01&days=0",
        "from=2026-12-01&days=-1",
        "from=2026-12-01&days=two",
        "from=2026-12-01&day=3",
    ],
)
def test_capacity_bad_query_is_400_json(client, auth, query):
    response = client.get(f"/api/v1/capacity?{query}", headers=auth)
    assert response.status_code == 400
    assert response.json["error"]
    assert response.json["details"]


def test_capacity_needs_a_token(client):
    assert client.get("/api/v1/capacity?from=2026-12-01&days=3").status_code == 401


def test_post_onto_a_full_day_is_409_with_the_three_nearest_days_with_room(
    client, db_session, auth, two_a_day
):
    for ref in ("F1", "F2"):
        assert _post(client, auth, ref, "2026-12-10").status_code == 201
    assert _post(client, auth, "F3", "2026-12-11").status_code == 201
    assert _post(client, auth, "F4", "2026-12-11T09:00").status_code == 201
    before = _counts(db_session)

    response = _post(client, auth, "F5", "2026-12-10T15:00")

    assert response.status_code == 409
    assert "fully booked" in response.json["error"]
    assert response.json["details"] == {
        "eta": "2026-12-10T14:00:00+00:00",
        "booked": 2,
        "capacity": 2,
        # Friday is full too, the weekend has no hours: Monday, Tuesday, Wednesday.
        "alternatives": ["2026-12-14", "2026-12-15", "2026-12-16"],
    }
    assert _counts(db_session) == before


def test_post_with_an_override_reason_is_accepted_and_recorded(client, db_session, auth, two_a_day):
    for ref in ("F1", "F2"):
        _post(client, auth, ref, "2026-12-10")

    response = _post(client, auth, "F3", "2026-12-10", eta_override_reason="Customer's opening day")

    assert response.status_code == 201, response.json
    assert response.json["eta_overrides"] == [
        {
            "date": "2026-12-10",
            "booked": 2,
            "capacity": 2,
            "reason": "Customer's opening day",
            "by": "api:erp",
            "at": response.json["eta_overrides"][0]["at"],
        }
    ]
    job = db_session.scalar(select(Job).where(Job.reference == "F3"))
    entry = db_session.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "job",
            AuditEntry.entity_id == job.id,
            AuditEntry.action == "eta_override",
        )
    )
    assert entry.actor == "api:erp"
    assert entry.details == {
        "date": "2026-12-10",
        "booked": 2,
        "capacity": 2,
        "reason": "Customer's opening day",
    }


def test_blank_override_reason_does_not_override(client, db_session, auth, two_a_day):
    for ref in ("F1", "F2"):
        _post(client, auth, ref, "2026-12-10")
    response = _post(client, auth, "F3", "2026-12-10", eta_override_reason="   ")
    assert response.status_code == 409


def test_a_day_with_no_deliveries_refuses_even_without_hours(client, db_session, auth):
    set_day(db_session, date(2026, 12, 24), 0, actor="test")
    db_session.commit()
    response = _post(client, auth, "X1", "2026-12-24")
    assert response.status_code == 409
    assert "takes no deliveries" in response.json["error"]
    # No per-day figure: every other day is unlimited.
    assert response.json["details"]["alternatives"] == ["2026-12-25", "2026-12-26", "2026-12-27"]


def test_identical_replay_is_200_even_when_the_day_is_now_full(client, db_session, auth, two_a_day):
    assert _post(client, auth, "R1", "2026-12-10").status_code == 201
    assert _post(client, auth, "R2", "2026-12-10").status_code == 201
    again = _post(client, auth, "R1", "2026-12-10")
    assert again.status_code == 200
    assert again.json["reference"] == "R1"


def test_patch_onto_a_full_day_is_409_and_changes_nothing(client, db_session, auth, two_a_day):
    for ref in ("F1", "F2"):
        _post(client, auth, ref, "2026-12-10")
    _post(client, auth, "M1", "2026-12-14")
    before = _counts(db_session)

    response = client.patch(
        "/api/v1/jobs/M1", json={"eta": "2026-12-10", "eta_reason": "sooner"}, headers=auth
    )

    assert response.status_code == 409
    assert response.json["details"]["booked"] == 2
    # Monday the 14th has room: M1 itself does not count while it moves.
    assert response.json["details"]["alternatives"] == ["2026-12-11", "2026-12-14", "2026-12-15"]
    assert _counts(db_session) == before
    assert client.get("/api/v1/jobs/M1", headers=auth).json["eta"] == "2026-12-14"


def test_patch_with_override_reason_moves_the_job_and_counts_its_overrides(
    client, db_session, auth, two_a_day
):
    for ref in ("F1", "F2"):
        _post(client, auth, ref, "2026-12-10")
    _post(client, auth, "M1", "2026-12-14")

    response = client.patch(
        "/api/v1/jobs/M1",
        json={"eta": "2026-12-10", "eta_reason": "sooner", "eta_override_reason": "VIP"},
        headers=auth,
    )

    assert response.status_code == 200, response.json
    assert response.json["eta"] == "2026-12-10"
    assert [o["reason"] for o in response.json["eta_overrides"]] == ["VIP"]
    override = db_session.scalar(select(EtaOverride))
    assert override.eta_change_id is not None
    assert (override.booked, override.capacity) == (2, 2)


def test_patch_that_keeps_the_day_never_fails_on_capacity(client, db_session, auth, two_a_day):
    for ref in ("F1", "F2"):
        _post(client, auth, ref, "2026-12-10")
    set_day(db_session, date(2026, 12, 10), 1, actor="test")
    db_session.commit()

    response = client.patch(
        "/api/v1/jobs/F1", json={"eta": "2026-12-10T16:00", "eta_reason": "afternoon"}, headers=auth
    )

    assert response.status_code == 200, response.json
    assert response.json["eta"] == "2026-12-10T15:00:00+00:00"
    assert response.json["eta_overrides"] == []


def test_override_reason_without_eta_is_422(client, auth):
    _post(client, auth, "Z1", "2026-12-10")
    response = client.patch("/api/v1/jobs/Z1", json={"eta_override_reason": "x"}, headers=auth)
    assert response.status_code == 422
    assert "eta_override_reason" in response.json["details"]


def test_a_job_moving_off_a_full_day_frees_its_place(client, db_session, auth, two_a_day):
    for ref in ("F1", "F2"):
        _post(client, auth, ref, "2026-12-10")
    client.patch("/api/v1/jobs/F1", json={"status": "cancelled"}, headers=auth)
    assert _post(client, auth, "F3", "2026-12-10").status_code == 201
