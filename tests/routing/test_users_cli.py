"""`switchboard user create|password` and `switchboard token create`."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from models import ApiToken, Role, User, utcnow
from routing.cli import main
from routing.tokens import verify_token
from tests.factories import make_user
from tests.test_app import login


def users(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(User))


def test_user_create_with_password_can_log_in(runner, client, db_session):
    result = runner.invoke(
        main,
        [
            "user", "create", "--email", "Ada@Example.com", "--role", "admin",
            "--name", "Ada Lovelace", "--password", "analytical-engine",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created user Ada Lovelace <ada@example.com>, admin." in result.output
    ada = db_session.scalar(select(User).where(User.email == "ada@example.com"))
    assert ada.role is Role.ADMIN
    assert ada.password_hash and "analytical-engine" not in ada.password_hash
    assert login(client, "ada@example.com", "analytical-engine").status_code == 302


def test_user_create_prompts_for_password_twice(runner, db_session):
    result = runner.invoke(
        main,
        ["user", "create", "--email", "bob@example.com", "--role", "account_manager",
         "--phone", "(415) 555-0301", "--capacity", "12"],
        input="s3cret-pass\ns3cret-pass\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    bob = db_session.scalar(select(User).where(User.email == "bob@example.com"))
    assert (bob.role, bob.phone, bob.capacity) == (Role.ACCOUNT_MANAGER, "+14155550301", 12)


def test_duplicate_email_is_refused_before_any_prompt(runner, db_session):
    make_user(db_session, email="cora@example.com")
    db_session.commit()
    result = runner.invoke(
        main, ["user", "create", "--email", "CORA@example.com", "--role", "coordinator"]
    )
    assert result.exit_code == 1
    assert "a user with the email cora@example.com already exists" in result.output
    assert "Password" not in result.output
    assert users(db_session) == 1


def test_unknown_role_is_refused(runner, db_session):
    result = runner.invoke(
        main,
        ["user", "create", "--email", "x@example.com", "--role", "boss", "--password", "x" * 9],
    )
    assert result.exit_code == 2
    assert "unknown role 'boss'; choose one of coordinator, account_manager, admin" in (
        result.output
    )
    assert users(db_session) == 0


def test_bad_phone_short_password_and_coordinator_without_phone_are_refused(runner, db_session):
    base = ["user", "create", "--email", "c@example.com", "--role", "coordinator"]
    no_phone = runner.invoke(main, [*base, "--password", "long-enough"])
    assert no_phone.exit_code == 1
    assert "a coordinator needs a phone number to ring" in no_phone.output
    bad_phone = runner.invoke(main, [*base, "--phone", "12", "--password", "long-enough"])
    assert "'12' is not a valid phone number" in bad_phone.output
    short = runner.invoke(main, [*base, "--phone", "4155550201", "--password", "short"])
    assert short.exit_code == 1
    assert "at least 8 characters" in short.output
    assert users(db_session) == 0


def test_password_sets_login_of_an_imported_user(runner, client, db_session):
    make_user(db_session, email="cora@example.com", password=None)
    db_session.commit()
    assert login(client, "cora@example.com", "new-password-1").status_code == 401
    result = runner.invoke(
        main, ["user", "password", "--email", "cora@example.com"], input="new-password-1\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert "Password set for cora@example.com." in result.output
    assert login(client, "cora@example.com", "new-password-1").status_code == 302


def test_password_for_unknown_email_is_refused(runner):
    result = runner.invoke(
        main, ["user", "password", "--email", "ghost@example.com", "--password", "whatever1"]
    )
    assert result.exit_code == 1
    assert "no user has the email ghost@example.com" in result.output


def test_token_create_prints_token_once_and_stores_only_its_hash(runner, db_session):
    result = runner.invoke(main, ["token", "create", "ERP integration"])
    assert result.exit_code == 0, result.output
    raw = next(line for line in result.output.splitlines() if line.startswith("sb_"))
    stored = db_session.scalar(select(ApiToken).where(ApiToken.name == "ERP integration"))
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in stored.token_hash
    assert verify_token(db_session, raw, now=utcnow()).id == stored.id
    assert verify_token(db_session, raw + "x", now=utcnow()) is None


def test_switchboard_help_lists_only_our_commands(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "demo", "import", "user", "token"):
        assert f"  {command} " in result.output
    for flask_only in ("--app", "--debug", "routes", "  run "):
        assert flask_only not in result.output


def test_token_list_and_revoke(runner, db_session):
    created = runner.invoke(main, ["token", "create", "Warehouse"])
    raw = next(line for line in created.output.splitlines() if line.startswith("sb_"))
    listing = runner.invoke(main, ["token", "list"])
    assert "Warehouse" in listing.output and "live" in listing.output
    assert raw not in listing.output
    token_id = db_session.scalar(select(ApiToken.id).where(ApiToken.name == "Warehouse"))
    revoked = runner.invoke(main, ["token", "revoke", str(token_id)])
    assert revoked.exit_code == 0, revoked.output
    db_session.expire_all()
    assert verify_token(db_session, raw, now=utcnow()) is None
    missing = runner.invoke(main, ["token", "revoke", "9999"])
    assert missing.exit_code == 1
    assert "no API token has the id 9999" in missing.output
