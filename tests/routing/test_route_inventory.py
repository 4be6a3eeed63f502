"""Every route of the app, walked from ``app.url_map`` and requested without credentials.

Each route is exactly one of:
- public, by a decision named in PUBLIC with its reason;
- a Twilio webhook (under /twilio/): Twilio's signature or 403;
- SendGrid's event webhook (under /sendgrid/): SendGrid's signature or 403;
- the JSON API (under /api/): a bearer token or 401;
- the console: a login (strangers go to the login page), and where the view names roles,
  one of them (any other role gets 403).
Every state-changing route (POST, PUT, PATCH, DELETE) also needs a CSRF token, unless a
signature or a token authenticates it. A new route that is none of these fails here: add
it to PUBLIC with its reason only if the whole world may call it.
"""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from config import ProductionConfig
from models import Role
from routing import create_app
from routing.database import get_db
from tests.factories import make_user
from tests.test_app import csrf_from, login
from tests.twilio_signing import twilio_signature

PUBLIC = {
    "static": "the console's CSS and JavaScript: nothing in them is secret",
    "health.healthz": "load balancers and operators probe it; it tells only whether the "
    "database answers",
    "auth.login": "where a session starts (its POST needs the login form's CSRF token)",
    "auth.logout": "ends the session it is sent with, if any (CSRF-protected)",
    "feedback.feedback": "linked from the delivered email: the signed token in its URL is "
    "the credential, and its form is CSRF-protected",
    "api.openapi": "the API's description, so integrators can read it before they have a "
    "token; it holds no data",
    "bookings.change_request": "linked from an appointment reminder: the signed token in its "
    "URL is the credential, and its form is CSRF-protected",
}
# Blueprints that check the role of every request themselves (a before_request hook).
ROLES_BY_BLUEPRINT = {"admin": frozenset({Role.ADMIN})}
# Console routes kept to some roles (admins may use every route). A route not listed here
# is checked against what its view declares; a listed one must declare exactly this.
DESK = frozenset({Role.COORDINATOR})
EDITORS = frozenset({Role.COORDINATOR, Role.ACCOUNT_MANAGER})
ADMINS = frozenset({Role.ADMIN})
RESTRICTED = {
    **dict.fromkeys(
        [
            "console.live",
            "console.live_json",
            "console.call_detail",
            "console.call_state_json",
            "console.dispose",
            "console.enquiries",
            "console.enquiries_json",
            "console.enquiry_detail",
            "console.claim",
            "console.release",
            "console.call_back",
            "console.resolve",
        ],
        DESK,
    ),
    **dict.fromkeys(
        [
            "console.job_new",
            "console.job_edit",
            "console.job_eta",
            "console.job_status",
            "console.job_manager",
        ],
        EDITORS,
    ),
    **dict.fromkeys(["reports.index", "reports.export_csv"], ADMINS),
}
# Answered in front of Flask (routing/voice/incoming.py), so not in url_map.
EXTRA_TWILIO_PATHS = ["/twilio/voice/incoming"]
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def kind(rule: Rule) -> str:
    if rule.endpoint in PUBLIC:
        return "public"
    for prefix, name in (("/twilio/", "twilio"), ("/sendgrid/", "sendgrid"), ("/api/", "token")):
        if rule.rule.startswith(prefix):
            return name
    return "login"


def sample_path(app, rule: Rule) -> str:
    """The rule's URL with made-up values: 1 for numbers, the first choice of an ``any``,
    a word for anything else."""

    def value(converter):
        if isinstance(converter, IntegerConverter):
            return 1
        if isinstance(converter, AnyConverter):
            return sorted(converter.items)[0]
        return "sample"

    values = {name: value(converter) for name, converter in rule._converters.items()}
    return app.url_map.bind("localhost").build(rule.endpoint, values, force_external=False)


def routes(app, wanted: str) -> list[tuple[str, str, Rule]]:
    found = []
    for rule in app.url_map.iter_rules():
        if kind(rule) != wanted:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, sample_path(app, rule), rule))
    return found


def request(client, method: str, path: str, **kwargs):
    return client.open(path, method=method, **kwargs)


def allowed_roles(app, rule: Rule) -> frozenset[Role]:
    view = app.view_functions[rule.endpoint]
    blueprint = rule.endpoint.rpartition(".")[0]
    return getattr(view, "login_roles", frozenset()) | ROLES_BY_BLUEPRINT.get(
        blueprint, frozenset()
    )


def anonymous_csrf_token(client) -> str:
    return csrf_from(client.get("/login").get_data(as_text=True))


def test_the_inventory_covers_every_kind_of_route(app):
    kinds = {kind(rule) for rule in app.url_map.iter_rules()}
    assert kinds == {"public", "twilio", "sendgrid", "token", "login"}
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(PUBLIC) <= endpoints, "PUBLIC names a route that no longer exists"
    assert len(routes(app, "login")) > 40


def test_every_console_route_sends_a_stranger_to_the_login_page(app):
    client = app.test_client()
    token = anonymous_csrf_token(client)
    refused = []
    for method, path, _rule in routes(app, "login"):
        data = {"csrf_token": token} if method in STATE_CHANGING else None
        response = request(client, method, path, data=data)
        location = response.headers.get("Location", "")
        if response.status_code != 302 or not location.startswith("/login"):
            refused.append(f"{method} {path} → {response.status_code} {location}")
    assert refused == [], "routes that neither are public nor need a login"


@pytest.fixture
def staff(db_session):
    users = {
        role: make_user(db_session, role=role, email=f"{role.value}@example.com") for role in Role
    }
    db_session.commit()
    return users


def test_console_routes_keep_their_roles(app):
    for _method, _path, rule in routes(app, "login"):
        if rule.endpoint in RESTRICTED:
            assert allowed_roles(app, rule) == RESTRICTED[rule.endpoint], rule.endpoint
        elif rule.endpoint.startswith("admin."):
            assert allowed_roles(app, rule) == ADMINS, rule.endpoint


def test_console_routes_refuse_the_wrong_role(app, staff):
    checked = 0
    for role in (Role.COORDINATOR, Role.ACCOUNT_MANAGER):
        client = app.test_client()
        assert login(client, staff[role].email).status_code == 302
        token = csrf_from(client.get("/").get_data(as_text=True))
        for method, path, rule in routes(app, "login"):
            roles = allowed_roles(app, rule)
            if not roles or role in roles:
                continue
            data = {"csrf_token": token} if method in STATE_CHANGING else None
            response = request(client, method, path, data=data)
            assert response.status_code == 403, f"{role.value}: {method} {path}"
            checked += 1
    assert checked > 30  # the admin pages, reports, and the coordinators' desk


def test_a_salesperson_login_reaches_only_the_pages_that_name_her(app, staff):
    """Her login opens her calendar, availability and appointments: every staff page is 403."""
    client = app.test_client()
    assert login(client, staff[Role.SALESPERSON].email).status_code == 302
    token = csrf_from(client.get("/", follow_redirects=True).get_data(as_text=True))
    let_in = []
    for method, path, rule in routes(app, "login"):
        if Role.SALESPERSON in allowed_roles(app, rule) or rule.endpoint == "auth.logout":
            continue
        data = {"csrf_token": token} if method in STATE_CHANGING else None
        response = request(client, method, path, data=data)
        if response.status_code != 403:
            let_in.append(f"{method} {path} → {response.status_code}")
    assert let_in == []


def test_every_state_changing_route_needs_a_csrf_token_or_a_signature_or_a_token(app, staff):
    admin = app.test_client()
    assert login(admin, staff[Role.ADMIN].email).status_code == 302
    anonymous = app.test_client()
    unprotected = []
    for wanted, client in (("login", admin), ("public", anonymous)):
        for method, path, _rule in routes(app, wanted):
            if method not in STATE_CHANGING:
                continue
            response = request(client, method, path, data={"anything": "1"})
            if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
                unprotected.append(f"{method} {path} → {response.status_code}")
    assert unprotected == []
    # Routes without CSRF are exactly those a signature or a token protects (tested below).
    exempt = {
        rule.rule.split("/")[1]
        for rule in app.url_map.iter_rules()
        if rule.methods & STATE_CHANGING and kind(rule) not in ("login", "public")
    }
    assert exempt == {"twilio", "sendgrid", "api"}


def twilio_routes(app) -> list[tuple[str, str]]:
    found = [(method, path) for method, path, _ in routes(app, "twilio")]
    return found + [("POST", path) for path in EXTRA_TWILIO_PATHS]


def test_every_twilio_route_refuses_missing_and_forged_signatures(app):
    client = app.test_client()
    params = {"CallSid": "CA" + "9" * 32, "From": "+12025550100", "To": "+16465550001"}
    for method, path in twilio_routes(app):
        forged = twilio_signature("http://localhost" + path, params, token="not-our-token")
        for headers in ({}, {"X-Twilio-Signature": forged}):
            response = request(client, method, path, data=params, headers=headers)
            assert response.status_code == 403, f"{method} {path} {headers}"
            assert b"<Response" not in response.data


SENDGRID_PUBLIC_KEY = base64.b64encode(
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


@pytest.fixture
def app_overrides():
    return {"SENDGRID_EVENT_PUBLIC_KEY": SENDGRID_PUBLIC_KEY}


def test_sendgrid_routes_refuse_unsigned_batches_and_everything_in_production_without_a_key(
    app, database_url, connection
):
    body = b'[{"sg_event_id": "e1", "event": "bounce", "email": "dana@example.com"}]'
    headers = {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": "MEUCIQ" + "A" * 90,
        "X-Twilio-Email-Event-Webhook-Timestamp": "1764579600",
    }
    production = create_app(
        ProductionConfig(
            {"DATABASE_URL": database_url, "SECRET_KEY": "s" * 32, "TWILIO_AUTH_TOKEN": "t"}
        )
    )
    get_db(production).engine.dispose()
    get_db(production).Session.configure(bind=connection, join_transaction_mode="create_savepoint")
    sendgrid = routes(app, "sendgrid")
    assert sendgrid
    for method, path, _rule in sendgrid:
        for client in (app.test_client(), production.test_client()):
            for sent in ({"Content-Type": "application/json"}, headers):
                response = request(client, method, path, data=body, headers=sent)
                assert response.status_code == 403, f"{method} {path}"


def test_api_routes_need_a_bearer_token(app):
    client = app.test_client()
    for method, path, _rule in routes(app, "token"):
        for headers in ({}, {"Authorization": "Bearer sb_not-a-token"}, {"Authorization": "x"}):
            response = request(client, method, path, json={}, headers=headers)
            assert response.status_code == 401, f"{method} {path}"
            assert set(response.json) == {"error", "details"}


def test_public_routes_answer_strangers_without_sending_them_to_login(app):
    client = app.test_client()
    for method, path, rule in routes(app, "public"):
        if method in STATE_CHANGING:
            continue  # their CSRF check is tested above
        if rule.endpoint == "static":
            path = "/static/console.js"
        response = request(client, method, path)
        response.close()
        assert response.status_code in (200, 404), f"{method} {path}"
        assert not re.match(r"/login", response.headers.get("Location", ""))
