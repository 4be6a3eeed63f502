"""``switchboard worker``: the scheduler process that sends the outbox on time."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option(
    "--concurrency",
    default=8,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Emails sent in parallel over the pooled HTTP connection.",
)
@click.option(
    "--batch",
    default=100,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Emails claimed per database round trip.",
)
@with_appcontext
def worker(concurrency: int, batch: int) -> None:
    """Run the scheduler: send due emails, schedule later ones, run periodic checks.

    Stops cleanly on SIGTERM or Ctrl-C after the emails being sent are recorded.
    """
    from notifications.worker import runtime_from_config, start

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every run of the 2-second outbox sweep at INFO: keep its warnings only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # A sweep still sending (a long batch, a slow SendGrid) makes APScheduler warn every
    # interval that it skipped the next one: expected, not worth an operator's attention.
    logging.getLogger("apscheduler.scheduler").addFilter(
        lambda record: "maximum number of running instances" not in record.getMessage()
    )
    config = current_app.config["SWITCHBOARD_CONFIG"]
    runtime = runtime_from_config(config, concurrency=concurrency, batch=batch)
    click.echo(
        f"worker: sending with the {runtime.sender.name} backend; "
        f"database {runtime.db.engine.url.render_as_string(hide_password=True)}"
    )
    start(runtime, blocking=True)
    click.echo("worker: stopped")
