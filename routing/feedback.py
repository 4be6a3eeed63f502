"""Public feedback pages linked from the introduction and delivered emails (signed, no login)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from models import FeedbackStage, Job
from models.hours import BusinessCalendar
from notifications.feedback import (
    AlreadyAnswered,
    FeedbackError,
    answer_for,
    record_feedback,
)
from notifications.feedback_links import BadLink, ExpiredLink, FeedbackLink, read_token

from .clock import request_now
from .database import get_session

bp = Blueprint("feedback", __name__)


def _closed_link(message: str, status: int, job: Job | None = None):
    return render_template("feedback.html", closed=message, job=job), status


def _read(token: str, now) -> tuple[FeedbackLink | None, Job | None, object]:
    """The link and its job, or the page saying why nothing can be recorded with it."""
    session = get_session()
    try:
        link = read_token(current_app.config["SECRET_KEY"], token, now)
    except BadLink:
        return None, None, _closed_link("This feedback link is not valid.", 404)
    except ExpiredLink as exc:
        job = session.get(Job, exc.job_id)
        return None, None, _closed_link("This feedback link has expired.", 410, job)
    job = session.get(Job, link.job_id)
    if job is None:
        return None, None, _closed_link("This feedback link is not valid.", 404)
    return link, job, None


@bp.route("/feedback/<token>", methods=["GET", "POST"])
def feedback(token: str):
    """Rate a job 1–5 with an optional comment: early ("so far") or at delivery, once each."""
    now = request_now()
    link, job, refusal = _read(token, now)
    if refusal is not None:
        return refusal
    session = get_session()
    stage = link.stage
    early = stage is FeedbackStage.EARLY
    previous = answer_for(session, job, stage)
    if previous is not None:
        return render_template("feedback.html", job=job, early=early, answered=previous)
    chosen = request.values.get("rating", "")
    if request.method == "GET":
        return render_template("feedback.html", job=job, early=early, chosen=chosen, comment="")
    comment = request.form.get("comment", "")
    tz = BusinessCalendar.load(session, current_app.config["TIMEZONE"]).timezone
    try:
        # Lock the job row so a double submit cannot record two answers.
        session.scalar(
            select(Job)
            .where(Job.id == job.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        answer = record_feedback(
            session, job, stage=stage, rating=chosen, comment=comment, tz=tz, now=now
        )
    except AlreadyAnswered:
        session.rollback()
        previous = answer_for(session, job, stage)
        return render_template("feedback.html", job=job, early=early, answered=previous), 409
    except FeedbackError as exc:
        session.rollback()
        return (
            render_template(
                "feedback.html",
                job=job,
                early=early,
                chosen=chosen,
                comment=comment,
                error=exc,
            ),
            422,
        )
    session.commit()
    return render_template("feedback.html", job=job, early=early, thanks=answer)
