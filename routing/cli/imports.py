"""``switchboard import KIND FILE.csv``: load the directory from CSV files."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from routing.cli.progress import progress_for
from routing.clock import app_now
from routing.database import get_db
from routing.setup.importer import HEADERS, KINDS, ImportFailed, import_directory


@click.command(
    "import",
    epilog="Headers: " + "; ".join(f"{kind}: {','.join(cols)}" for kind, cols in HEADERS.items()),
)
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("csv_file", metavar="FILE.csv", type=click.File("rb"))
@click.option(
    "--check", is_flag=True, help="Only check the file and say what would change; write nothing."
)
@with_appcontext
def import_command(kind: str, csv_file, check: bool) -> None:
    """Import the directory (salespeople, users, customers) from CSV.

    The whole file is checked first: if any row is bad, every bad row is listed as
    "line N: field: reason" and nothing is imported. Importing again updates what
    exists and never duplicates.
    """
    started = time.perf_counter()
    database = get_db()
    session = database.Session()
    progress = progress_for()
    try:
        summary = import_directory(
            session,
            kind,
            csv_file,
            region=current_app.config["DEFAULT_REGION"],
            actor="cli",
            progress=progress,
            now=app_now(),
        )
        if check:
            session.rollback()
        else:
            session.commit()
    except ImportFailed as failure:
        session.rollback()
        for error in failure.errors:
            click.echo(str(error), err=True)
        count = len({e.line for e in failure.errors})
        raise click.ClickException(
            f"{csv_file.name}: {count} bad row{'s' if count != 1 else ''}; nothing was imported."
        ) from None
    except SQLAlchemyError as exc:
        # Another process changed the directory meanwhile (or the database is down).
        session.rollback()
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
        raise click.ClickException(
            f"the database refused the import ({reason}); nothing was imported."
        ) from None
    except BaseException:
        session.rollback()
        raise
    finally:
        progress.close()
        session.close()
    if check:
        click.echo(f"{csv_file.name} is good. Importing it would give: {summary}. Nothing written.")
        return
    click.echo(f"Imported {summary} in {time.perf_counter() - started:.1f} s.")
