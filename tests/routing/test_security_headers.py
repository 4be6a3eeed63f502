"""Security headers on every page (PRODUCT.md §4), no inline script in any template, request
bodies refused before parsing, errors that keep their headers and say the database is down."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from config import ProductionConfig
from models import Database, Role
from routing import create_app
from routing.database import get_db
from tests.conftest import make_test_config
from tests.factories import make_user
from tests.test_app import login
from tests.twilio_signing import signed_post

ROUTING = Path(__file__).resolve().parents[2] / "routing"


def script_sources(policy: str) -> str:
    return re.search(r"script-src ([^;]*)", policy).group(1)


def assert_secure_page(response) -> None:
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert script_sources(policy) == "'self'"
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_public_pages_carry_the_headers_and_may_be_cached(client):
    for path in ("/login", "/no-such-page"):
        response = client.get(path)
        assert_secure_page(response)
        assert "Strict-Transport-Security" not in response.headers  # not in production
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_pages_behind_login_are_never_stored(client, db_session):
    make_user(db_session, role=Role.ADMIN, email="ada@example.com")
    db_session.commit()
    login(client, "ada@example.com")
    for path in ("/", "/calls/live", "/calls/live.json", "/jobs", "/admin/users", "/reports/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_secure_page(response)
        assert response.headers["Cache-Control"] == "no-store", path
    with client.get("/static/console.js") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")


def test_production_adds_hsts(database_url, connection):
    environ = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "s" * 32,
        "TWILIO_AUTH_TOKEN": "t",
        "SENDGRID_EVENT_PUBLIC_KEY": "",
    }
    app = create_app(ProductionConfig(environ))
    get_db(app).engine.dispose()
    get_db(app).Session.configure(bind=connection, join_transaction_mode="create_savepoint")
    response = app.test_client().get("/login", base_url="https://sb.example.com")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert_secure_page(response)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def test_no_template_has_an_inline_script_or_event_handler():
    """The CSP refuses them: pages pass data to console.js in JSON blocks (js_call)."""
    templates = [p for p in ROUTING.rglob("*.html") if "templates" in p.parts]
    assert len(templates) > 20
    found = []
    for path in templates:
        source = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JS_URL):
            found += [
                f"{path.relative_to(ROUTING)}: {m.group(0)}" for m in pattern.finditer(source)
            ]
    assert found == []


def test_the_checks_for_inline_scripts_see_them():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/console.js"></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" data-x="y">[1]</script>')
    assert EVENT_HANDLER.search('<input onfocus="this.select()">')
    assert JS_URL.search('<a href="javascript:go()">')


# --- bodies refused before they are parsed ------------------------------------------------

TWILIO_PATHS = ("/twilio/voice/status", "/twilio/voice/fallback", "/twilio/console/announce/1")


@pytest.mark.parametrize("path", TWILIO_PATHS)
def test_an_oversized_twilio_body_is_refused_with_413_before_parsing(client, path):
    params = {"CallSid": "CA" + "1" * 32, "Padding": "x" * 70_000}
    response = signed_post(client, path, params)
    assert response.status_code == 413
    assert "larger than 64 KB" in response.get_data(as_text=True)


def test_a_chunked_twilio_body_is_cut_off_at_the_limit(client):
    body = b"CallSid=CA1&Padding=" + b"x" * 70_000
    response = client.post(
        "/twilio/voice/status",
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_a_small_chunked_twilio_body_is_still_read_and_checked(client):
    from tests.twilio_signing import twilio_signature

    params = {"CallSid": "CA" + "2" * 32, "From": "+12025550100", "To": "+16465550001"}
    body = "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in params.items()).encode()
    response = client.post(
        "/twilio/voice/fallback",
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={
            "Transfer-Encoding": "chunked",
            "X-Twilio-Signature": twilio_signature(
                "http://localhost/twilio/voice/fallback", params
            ),
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200 and response.mimetype == "text/xml"


# --- error responses ---------------------------------------------------------------------


def test_405_keeps_its_allow_header(client, db_session):
    response = client.get("/logout")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"POST"}
    from routing.tokens import create_token

    token = create_token(db_session, "ERP")
    db_session.commit()
    api = client.delete("/api/v1/jobs/4711", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 405
    assert "PATCH" in api.headers["Allow"] and set(api.json) == {"error", "details"}


@pytest.fixture
def database_down(tmp_path):
    """The app over a database that cannot be reached (its file cannot be opened)."""
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'switchboard.sqlite3'}"
    app = create_app(make_test_config(url))
    yield app
    get_db(app).dispose()


def test_the_api_answers_503_json_while_the_database_is_down(database_down, caplog):
    client = database_down.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/jobs/4711", headers={"Authorization": "Bearer sb_x"})
    assert response.status_code == 503
    assert response.json["details"] == {} and "database" in response.json["error"]
    assert response.headers["Retry-After"]
    post = client.post(
        "/api/v1/jobs", json={"reference": "1"}, headers={"Authorization": "Bearer x"}
    )
    assert post.status_code == 503
    assert client.get("/healthz").status_code == 503


def test_a_console_page_says_the_database_is_down_with_503(database_down):
    client = database_down.test_client()
    with client.session_transaction() as session:
        session["user_id"] = 1
        session["epoch"] = 0
    response = client.get("/")
    assert response.status_code == 503
    assert "The database is not answering" in response.get_data(as_text=True)


def test_production_keeps_sql_parameters_out_of_errors_and_logs(tmp_path):
    environ = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}",
        "SECRET_KEY": "s" * 32,
        "TWILIO_AUTH_TOKEN": "t",
    }
    database = Database.from_config(ProductionConfig(environ))
    try:
        with database.engine.connect() as conn, pytest.raises(DBAPIError) as caught:
            conn.execute(text("SELECT * FROM customers WHERE email = :e"), {"e": "dana@ex.com"})
    finally:
        database.dispose()
    assert "dana@ex.com" not in str(caught.value)
    assert "hidden" in str(caught.value)
    development = Database.from_config(make_test_config(environ["DATABASE_URL"]))
    assert development.engine.hide_parameters is False
    development.dispose()
