"""The jobs API: bearer tokens, create/read/change jobs, and 4xx JSON for every bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Job, OutboundEmail, Role
from routing.tokens import create_token
from tests.factories import make_user

BODY = {
    "reference": "4711",
    "customer": {"name": "Dana Diaz", "email": "dana@example.com", "phone": "(202) 555-0143"},
    "description": "Two pallets of tiles",
    "eta": "2026-12-10",
}


@pytest.fixture
def app_overrides():
    return {"TIMEZONE": "Europe/Berlin"}


@pytest.fixture
def auth(db_session):
    raw = create_token(db_session, "erp")
    db_session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def carol(db_session):
    user = make_user(
        db_session,
        role=Role.ACCOUNT_MANAGER,
        name="Carol King",
        email="carol@example.com",
        capacity=10,
    )
    db_session.commit()
    return user


def _job_count(db_session) -> int:
    return db_session.scalar(select(func.count(Job.id)))


def test_requests_without_a_valid_token_get_401_json(client, db_session):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.post("/api/v1/jobs", json=BODY, headers=headers)
        assert response.status_code == 401
        assert response.json["error"].startswith("a valid API token is required")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/jobs/4711").status_code == 401
    assert _job_count(db_session) == 0


def test_create_job_returns_201_and_queues_assignment_and_introduction(
    client, db_session, auth, carol
):
    response = client.post("/api/v1/jobs", json=BODY, headers=auth)
    assert response.status_code == 201, response.json
    job = response.json
    assert job["reference"] == "4711"
    assert job["eta"] == "2026-12-10"
    assert job["eta_kind"] == "date"
    assert job["status"] == "open"
    assert job["customer"]["phone"] == "+12025550143"
    assert job["account_manager"]["email"] == "carol@example.com"
    kinds = {(e["kind"], e["to"], e["status"]) for e in job["emails"]}
    assert ("assignment", "carol@example.com", "pending") in kinds
    assert ("introduction", "dana@example.com", "pending") in kinds
    intro = db_session.scalar(select(OutboundEmail).where(OutboundEmail.kind == "introduction"))
    assert intro.from_name == "Carol King"


def test_repeated_identical_post_is_200_and_a_different_one_409(client, db_session, auth, carol):
    assert client.post("/api/v1/jobs", json=BODY, headers=auth).status_code == 201
    again = client.post("/api/v1/jobs", json=BODY, headers=auth)
    assert again.status_code == 200
    assert again.json["reference"] == "4711"
    different = client.post("/api/v1/jobs", json={**BODY, "eta": "2026-12-11"}, headers=auth)
    assert different.status_code == 409
    assert different.json == {
        "error": "a job with reference '4711' already exists",
        "details": {"reference": "already exists"},
    }
    assert _job_count(db_session) == 1


def test_get_job_shows_eta_history_and_emails(client, auth, carol):
    client.post("/api/v1/jobs", json=BODY, headers=auth)
    patch = client.patch(
        "/api/v1/jobs/4711",
        json={"eta": "2026-12-14T16:00", "eta_reason": "supplier delay"},
        headers=auth,
    )
    assert patch.status_code == 200, patch.json
    job = client.get("/api/v1/jobs/4711", headers=auth).json
    assert job["eta"] == "2026-12-14T15:00:00+00:00"  # 16:00 Berlin
    assert job["eta_display"] == "Monday 14 December 2026 at 16:00 CET"
    [change] = job["eta_history"]
    assert change["old_eta"] == "2026-12-10"
    assert change["new_eta"] == "2026-12-14T15:00:00+00:00"
    assert change["reason"] == "supplier delay"
    assert change["changed_by"] == "api:erp"
    # The introduction had not left yet, so it now announces the new ETA; no change email.
    assert [e["kind"] for e in job["emails"] if e["kind"] == "eta-change"] == []


def test_unknown_job_is_404_json(client, auth):
    response = client.get("/api/v1/jobs/nope", headers=auth)
    assert response.status_code == 404
    assert response.json["details"] == {"reference": "not found"}
    assert client.patch("/api/v1/jobs/nope", json={"status": "open"}, headers=auth).status_code == (
        404
    )


def test_patch_status_rules(client, auth, carol):
    client.post("/api/v1/jobs", json=BODY, headers=auth)
    delivered = client.patch("/api/v1/jobs/4711", json={"status": "delivered"}, headers=auth)
    assert delivered.status_code == 200
    assert delivered.json["delivered_at"]
    assert "delivered" in [e["kind"] for e in delivered.json["emails"]]
    reopened = client.patch("/api/v1/jobs/4711", json={"status": "open"}, headers=auth)
    assert reopened.status_code == 409
    assert reopened.json["details"] == {"status": "a job that is delivered cannot become open"}
    bad = client.patch("/api/v1/jobs/4711", json={"status": "lost"}, headers=auth)
    assert bad.status_code == 422
    assert "status" in bad.json["details"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({k: v for k, v in BODY.items() if k != "eta"}, 422, "eta"),
        ({k: v for k, v in BODY.items() if k != "customer"}, 422, "customer"),
        ({**BODY, "reference": ""}, 422, "reference"),
        ({**BODY, "eta": "next tuesday"}, 422, "eta"),
        ({**BODY, "eta": "2026-02-30"}, 422, "eta"),
        ({**BODY, "eta": "2026-12-10T25:00"}, 422, "eta"),
        ({**BODY, "eta": "9999-12-31T23:59:59-12:00"}, 422, "eta"),
        ({**BODY, "eta": 20261210}, 422, "eta"),
        ({**BODY, "reference": 4711}, 422, "reference"),
        ({**BODY, "customer": "Dana"}, 422, "customer"),
        ({**BODY, "customer": {"name": "Dana"}}, 422, "customer.email"),
        ({**BODY, "customer": {"name": ["D"], "email": "d@example.com"}}, 422, "customer.name"),
        ({**BODY, "customer": {"name": "D", "email": "not-an-email"}}, 422, "customer.email"),
        (
            {**BODY, "customer": {"name": "D", "email": "d@example.com", "phone": 5}},
            422,
            "customer.phone",
        ),
        ({**BODY, "customer": {"name": "D", "email": "d@example.com", "x": 1}}, 422, "customer.x"),
        ({**BODY, "description": ["a"]}, 422, "description"),
        ({**BODY, "reference": "R" * 10_000}, 422, "reference"),
        ({**BODY, "description": "d" * 60_000}, 422, "description"),
        ({**BODY, "description": "d" * 70_000}, 413, None),
        ({**BODY, "reference": "a\u0000b"}, 422, "reference"),
        ({**BODY, "account_manager_email": "ghost@example.com"}, 422, "account_manager_email"),
        ({**BODY, "account_manager_email": True}, 422, "account_manager_email"),
        ({**BODY, "priority": "high"}, 422, "priority"),
    ],
)
def test_bad_job_input_gets_4xx_json_naming_the_field_and_stores_nothing(
    client, db_session, auth, carol, body, status, field
):
    response = client.post("/api/v1/jobs", json=body, headers=auth)
    assert response.status_code == status, response.json
    assert set(response.json) == {"error", "details"}
    if field:
        assert field in response.json["details"], response.json
    assert _job_count(db_session) == 0


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1, 2]", b'"text"', b"null", b'{"reference": ', b"[" * 100_000],
)
def test_non_object_bodies_are_400(client, db_session, auth, raw):
    response = client.post(
        "/api/v1/jobs", data=raw, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 413)
    assert "error" in response.json
    assert _job_count(db_session) == 0


def test_patch_bad_input(client, auth, carol):
    client.post("/api/v1/jobs", json=BODY, headers=auth)
    cases = [
        ({}, 422, "body"),
        ({"eta": None}, 422, "eta"),
        ({"eta": "tomorrow"}, 422, "eta"),
        ({"eta_reason": "x"}, 422, "eta_reason"),
        ({"eta": "2026-12-12", "eta_reason": 5}, 422, "eta_reason"),
        ({"status": 3}, 422, "status"),
        ({"colour": "red"}, 422, "colour"),
    ]
    for body, status, field in cases:
        response = client.patch("/api/v1/jobs/4711", json=body, headers=auth)
        assert response.status_code == status, (body, response.json)
        assert field in response.json["details"], (body, response.json)
    job = client.get("/api/v1/jobs/4711", headers=auth).json
    assert job["eta"] == "2026-12-10"
    assert job["eta_history"] == []


def test_openapi_document_describes_the_api_without_a_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/api/v1/jobs",
        "/api/v1/jobs/{reference}",
        "/api/v1/capacity",
        "/api/v1/openapi.json",
    }
    assert set(doc["paths"]["/api/v1/jobs/{reference}"]) == {"parameters", "get", "patch"}
    create = doc["components"]["schemas"]["JobCreate"]
    assert create["required"] == ["reference", "customer", "eta"]
