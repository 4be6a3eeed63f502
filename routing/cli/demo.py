"""``switchboard demo``: a realistic organisation to click through."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from routing.database import get_db


@click.command("demo")
@click.option("--url", default=None, help="Where the console runs (default http://127.0.0.1:PORT).")
@with_appcontext
def demo(url: str | None) -> None:
    """Load a demo organisation and print the logins.

    Safe to run again: whatever exists is left alone and nothing is duplicated.
    """
    import os

    from notifications.jobs import JobSettings
    from routing.clock import app_now
    from routing.setup.demo import DEMO_PASSWORD, load_demo

    config = current_app.config["SWITCHBOARD_CONFIG"]
    with get_db().session() as session:
        result = load_demo(
            session,
            timezone=config.TIMEZONE,
            region=config.DEFAULT_REGION,
            job_settings=JobSettings.from_config(config),
            now=app_now(),
        )
    base = (url or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}").rstrip("/")
    click.echo(result.summary())
    click.echo("")
    click.echo(f"Console: {base}/login   (password for every demo login: {DEMO_PASSWORD})")
    for role, email in result.logins:
        click.echo(f"  {role:<16} {email}")
    click.echo("")
    click.echo("Watch a call arrive (with the server running):")
    click.echo(
        f"  switchboard simulate call --from {result.sample_caller} "
        f"--to {result.sample_twilio_number} --url {base}"
    )
