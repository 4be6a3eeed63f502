"""The ``switchboard`` command. Each area's commands live in a module of their own."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from .. import create_app


def _make_app():
    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_make_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """Switchboard: call routing and customer promises for sales organisations.

    Configured by the environment (and an optional .env file): DATABASE_URL,
    SECRET_KEY, TWILIO_AUTH_TOKEN, SENDGRID_API_KEY, TIMEZONE … (see README.md).
    """


def _register() -> None:
    from . import db

    main.add_command(db.db)


_register()
