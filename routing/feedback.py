"""Public feedback page linked from the delivered email (signed token, no login)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from models import Job
from models.hours import BusinessCalendar
from notifications.feedback import AlreadyAnswered, FeedbackError, record_feedback
from notifications.job_emails import job_id_from_feedback_token

from .database import get_session

bp = Blueprint("feedback", __name__)


def _job_for(token: str) -> Job:
    job_id = job_id_from_feedback_token(current_app.config["SECRET_KEY"], token)
    job = get_session().get(Job, job_id) if job_id is not None else None
    if job is None:
        abort(404, description="This feedback link is not valid.")
    return job


@bp.route("/feedback/<token>", methods=["GET", "POST"])
def feedback(token: str):
    """Rate a delivered job 1–5 with an optional comment; one answer per job."""
    job = _job_for(token)
    session = get_session()
    if job.feedback_at is not None:
        return render_template("feedback.html", job=job, answered=True)
    chosen = request.values.get("rating", "")
    if request.method == "GET":
        return render_template("feedback.html", job=job, chosen=chosen, comment="")
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
        record_feedback(session, job, rating=chosen, comment=comment, tz=tz)
    except AlreadyAnswered:
        session.rollback()
        return render_template("feedback.html", job=job, answered=True), 409
    except FeedbackError as exc:
        session.rollback()
        return (
            render_template("feedback.html", job=job, chosen=chosen, comment=comment, error=exc),
            422,
        )
    session.commit()
    return render_template("feedback.html", job=job, thanks=True)
