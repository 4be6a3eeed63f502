"""Configuration from the environment: defaults, .env, and refusals that name the variable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from config import ConfigError, DevelopmentConfig, ProductionConfig, TestConfig, load_config
from routing.cli import main

PRODUCTION = {
    "SWITCHBOARD_ENV": "production",
    "SECRET_KEY": "a-long-random-secret",
    "TWILIO_AUTH_TOKEN": "twilio-token",
    "DATABASE_URL": "sqlite://",
}


def test_development_is_the_default_with_documented_defaults(tmp_path):
    config = load_config({"SWITCHBOARD_INSTANCE_PATH": str(tmp_path)})
    assert isinstance(config, DevelopmentConfig)
    assert config.DATABASE_URL == f"sqlite:///{tmp_path / 'switchboard.sqlite3'}"
    assert (config.TIMEZONE, config.DEFAULT_REGION) == ("UTC", "US")
    assert config.SENDGRID_API_HOST == "https://api.sendgrid.com"
    assert config.FALLBACK_NUMBERS == []


def test_values_are_read_and_cleaned():
    config = load_config(
        {
            "SWITCHBOARD_ENV": "Test",
            "TIMEZONE": "Europe/London",
            "DEFAULT_REGION": "gb",
            "FALLBACK_NUMBERS": " +442071838750, +14155550100 ,",
            "PUBLIC_BASE_URL": "https://switchboard.example.com/",
        }
    )
    assert isinstance(config, TestConfig)
    assert config.DEFAULT_REGION == "GB"
    assert config.FALLBACK_NUMBERS == ["+442071838750", "+14155550100"]
    assert config.PUBLIC_BASE_URL == "https://switchboard.example.com"


def test_production_with_both_secrets_starts_with_secure_cookies():
    config = load_config(PRODUCTION)
    assert isinstance(config, ProductionConfig)
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_HTTPONLY is True
    assert config.SESSION_COOKIE_SAMESITE == "Lax"
    assert config.PERMANENT_SESSION_LIFETIME == timedelta(hours=12)


def test_login_cookie_is_secure_and_http_only_in_production():
    from routing import create_app

    app = create_app(load_config({**PRODUCTION, "PUBLIC_BASE_URL": "https://sb.example.com"}))
    with app.test_request_context():
        from flask import session

        session["user_id"] = 1
        response = app.make_response("ok")
        app.session_interface.save_session(app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("switchboard_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("missing", ["SECRET_KEY", "TWILIO_AUTH_TOKEN"])
def test_production_refuses_to_start_without_a_secret(missing):
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError) as error:
        load_config(environ)
    assert str(error.value) == f"{missing} must be set when SWITCHBOARD_ENV=production"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE is not a known time zone: 'Mars/Olympus'"),
        ("SWITCHBOARD_ENV", "staging", "SWITCHBOARD_ENV must be one of development, production"),
        ("DEFAULT_REGION", "XX", "DEFAULT_REGION must be a two-letter country code"),
        ("FALLBACK_NUMBERS", "+14155550100,555-0100", "FALLBACK_NUMBERS must be comma-separated"),
        ("PUBLIC_BASE_URL", "switchboard.example.com", "PUBLIC_BASE_URL must start with https://"),
        ("ETA_SETTLE_MINUTES", "ten", "ETA_SETTLE_MINUTES must be a whole number, got 'ten'"),
        ("MAIL_FROM", "Switchboard", "MAIL_FROM must be an address such as"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name, value, message):
    with pytest.raises(ConfigError) as error:
        load_config({name: value})
    assert str(error.value).startswith(message)


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("TIMEZONE=Europe/Paris\nDEFAULT_REGION=FR\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEFAULT_REGION", "DE")
    monkeypatch.delenv("TIMEZONE", raising=False)
    config = load_config()
    assert (config.TIMEZONE, config.DEFAULT_REGION) == ("Europe/Paris", "DE")


def test_command_line_prints_one_line_error_for_bad_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    environ = {**PRODUCTION, "SECRET_KEY": ""}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=environ)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: SECRET_KEY must be set when SWITCHBOARD_ENV=production"
    )
