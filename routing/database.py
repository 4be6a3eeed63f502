"""One database per app, one session per request (removed at teardown)."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from models import Database

EXTENSION = "switchboard_db"
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    config = app.config["SWITCHBOARD_CONFIG"]
    app.extensions[EXTENSION] = Database.from_config(config)
    app.teardown_appcontext(_close_session)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions[EXTENSION]


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_db().Session()
    return g.db_session


def discard_session() -> None:
    """Drop the request's session and close its connections without a word to the database.

    For a session whose connection was interrupted mid-statement (a missed deadline): a
    rollback would wait on the same silent server, and the connection must not go back
    to the pool.
    """
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.invalidate()
    except Exception:
        log.exception("could not discard a database session")


def _close_session(exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return
    try:
        if exc is not None:
            session.rollback()
    finally:
        session.close()
