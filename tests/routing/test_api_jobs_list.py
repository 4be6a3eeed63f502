"""GET /api/v1/jobs: filters, cursor pagination, 400 on bad input."""

from __future__ import annotations

import pytest

from models import Role
from routing.tokens import create_token
from tests.factories import make_user


@pytest.fixture
def app_overrides():
    return {"TIMEZONE": "Europe/Berlin"}


@pytest.fixture
def auth(db_session):
    raw = create_token(db_session, "erp")
    make_user(db_session, role=Role.ACCOUNT_MANAGER, email="carol@example.com", capacity=50)
    make_user(db_session, role=Role.ACCOUNT_MANAGER, email="bob@example.com", capacity=50)
    db_session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def jobs(client, auth):
    wanted = [
        ("J1", "2026-12-09", "carol@example.com"),
        ("J2", "2026-12-10", "bob@example.com"),
        ("J3", "2026-12-10T23:30", "carol@example.com"),  # still the 10th in Berlin
        ("J4", "2026-12-10T23:30:00Z", "carol@example.com"),  # the 11th in Berlin
        ("J5", "2026-12-12", "bob@example.com"),
    ]
    for reference, eta, manager in wanted:
        body = {
            "reference": reference,
            "customer": {"name": "Dana", "email": "dana@example.com"},
            "eta": eta,
            "account_manager_email": manager,
        }
        assert client.post("/api/v1/jobs", json=body, headers=auth).status_code == 201
    client.patch("/api/v1/jobs/J5", json={"status": "delivered"}, headers=auth)


def _references(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [job["reference"] for job in response.json["jobs"]]


def test_lists_every_job_oldest_first(client, auth, jobs):
    response = client.get("/api/v1/jobs", headers=auth)
    assert _references(response) == ["J1", "J2", "J3", "J4", "J5"]
    assert response.json["next_cursor"] is None
    first = response.json["jobs"][0]
    assert first["eta"] == "2026-12-09"
    assert first["account_manager"]["email"] == "carol@example.com"
    assert first["customer"]["name"] == "Dana"


def test_filters_by_status_manager_and_local_eta_day(client, auth, jobs):
    get = lambda query: _references(client.get(f"/api/v1/jobs?{query}", headers=auth))  # noqa: E731
    assert get("status=delivered") == ["J5"]
    assert get("status=open") == ["J1", "J2", "J3", "J4"]
    assert get("account_manager_email=Carol@Example.com") == ["J1", "J3", "J4"]
    assert get("account_manager_email=nobody@example.com") == []
    assert get("eta_from=2026-12-10&eta_to=2026-12-10") == ["J2", "J3"]
    assert get("eta_from=2026-12-11") == ["J4", "J5"]
    assert get("eta_to=2026-12-09") == ["J1"]
    assert get("status=open&account_manager_email=carol@example.com&eta_from=2026-12-10") == [
        "J3",
        "J4",
    ]


def test_cursor_pages_through_every_job_once(client, auth, jobs):
    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(f"/api/v1/jobs?{query}", headers=auth)
        seen += _references(response)
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert seen == ["J1", "J2", "J3", "J4", "J5"]
    assert pages == 3


@pytest.mark.parametrize(
    "query",
    [
        "status=lost",
        "eta_from=2026-02-30",
        "eta_from=next week",
        "eta_from=2026-12-11&eta_to=2026-12-10",
        "limit=0",
        "limit=201",
        "limit=ten",
        "cursor=not-a-cursor",
        "cursor=eyJhZnRlciI6ICJ4In0",
        "account_manager_email=carol",
        "state=open",
    ],
)
def test_bad_filters_are_400_json(client, auth, query):
    response = client.get(f"/api/v1/jobs?{query}", headers=auth)
    assert response.status_code == 400
    assert response.json["error"]
    assert response.json["details"]


def test_listing_needs_a_token(client):
    assert client.get("/api/v1/jobs").status_code == 401


def test_openapi_documents_the_list_and_capacity(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert paths["/api/v1/jobs"]["get"]["operationId"] == "listJobs"
    names = {p["name"] for p in paths["/api/v1/jobs"]["get"]["parameters"]}
    assert names == {"status", "account_manager_email", "eta_from", "eta_to", "limit", "cursor"}
    assert {p["name"] for p in paths["/api/v1/capacity"]["get"]["parameters"]} == {"from", "days"}
    assert (
        "eta_override_reason"
        in (
            client.get("/api/v1/openapi.json").json["components"]["schemas"]["JobCreate"][
                "properties"
            ]
        )
    )


def test_empty_filters_are_refused_rather_than_ignored(client, auth):
    response = client.get("/api/v1/jobs?status=&account_manager_email=", headers=auth)
    assert response.status_code == 400
    assert set(response.json["details"]) == {"status", "account_manager_email"}
