"""The ``switchboard`` command. Each area's commands live in a module of their own.

``main`` is a plain click group rather than Flask's ``FlaskGroup``: operators see only
Switchboard's commands (no ``--app``, ``--debug``, ``run`` or ``routes``). Commands that
need the app use ``flask.cli.with_appcontext`` and ``current_app`` as usual; the app is
built from the environment the first time one of them runs.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, ScriptInfo, shell_command

from config import ConfigError


def _make_app() -> Flask:
    from .. import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Switchboard: call routing and customer promises for sales organisations.

    Configured by the environment (and an optional .env file): DATABASE_URL,
    SECRET_KEY, TWILIO_AUTH_TOKEN, SENDGRID_API_KEY, TIMEZONE … (see README.md).
    """
    # Flask's test runner passes its own ScriptInfo (bound to the test app); keep it.
    if ctx.obj is None:
        ctx.obj = ScriptInfo(create_app=_make_app, set_debug_flag=False, load_dotenv_defaults=False)


def _register() -> None:
    from . import db

    main.add_command(db.db)
    main.add_command(shell_command)

    from . import demo, imports, users

    main.add_command(imports.import_command)
    main.add_command(users.user)
    main.add_command(users.token)
    main.add_command(demo.demo)

    from . import capacity

    main.add_command(capacity.capacity_group)

    from . import worker

    main.add_command(worker.worker)

    from . import simulate

    main.add_command(simulate.simulate)


_register()
