"""Console outbox: every email, its status, attempts, errors and delivery; resend failed ones."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from models import EmailStatus, Job, OutboundEmail
from notifications.outbox import resend

from ..clock import request_now
from ..database import get_session
from ..security import local_path, login_required
from .views import bp, page_arg

PAGE_SIZE = 50


def search_outbox(
    session: Session, *, query: str = "", status: str = "", kind: str = "", page: int = 1
) -> tuple[list[OutboundEmail], int]:
    """Emails newest first, by recipient or subject, status and kind."""
    stmt = select(OutboundEmail)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(OutboundEmail.to_email).like(like),
                func.lower(OutboundEmail.subject).like(like),
            )
        )
    if status in {s.value for s in EmailStatus}:
        stmt = stmt.where(OutboundEmail.status == EmailStatus(status))
    if kind:
        stmt = stmt.where(OutboundEmail.kind == kind)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    emails = session.scalars(
        stmt.order_by(OutboundEmail.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return list(emails), total


@bp.get("/outbox")
@login_required()
def outbox():
    """Every email Switchboard has written, with its state; failed ones can be resent."""
    session = get_session()
    query = request.args.get("q", "").strip()[:200]
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")[:50]
    page = page_arg()
    emails, total = search_outbox(session, query=query, status=status, kind=kind, page=page)
    kinds = session.scalars(select(OutboundEmail.kind).distinct().order_by(OutboundEmail.kind))
    return render_template(
        "console/outbox/list.html",
        emails=emails,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        query=query,
        status=status,
        kind=kind,
        kinds=list(kinds),
        statuses=list(EmailStatus),
        development=not current_app.config.get("SENDGRID_API_KEY"),
    )


def _email_or_404(session: Session, email_id: int) -> OutboundEmail:
    email = session.scalar(
        select(OutboundEmail)
        .options(joinedload(OutboundEmail.events))
        .where(OutboundEmail.id == email_id)
    )
    if email is None:
        abort(404, description="No such email.")
    return email


@bp.get("/outbox/<int:email_id>")
@login_required()
def outbox_email(email_id: int):
    """One email in full (both bodies, attachments) with its delivery events."""
    session = get_session()
    email = _email_or_404(session, email_id)
    job = session.get(Job, email.job_id) if email.job_id else None
    return render_template("console/outbox/email.html", email=email, job=job)


@bp.post("/outbox/<int:email_id>/resend")
@login_required()
def outbox_resend(email_id: int):
    """Queue a failed email again; the worker sends it within seconds."""
    session = get_session()
    email = _email_or_404(session, email_id)
    try:
        resend(session, email, now=request_now())
    except ValueError as exc:
        flash(str(exc).capitalize() + ".", "error")
    else:
        session.commit()
        flash(f"“{email.subject}” to {email.to_email} is queued again.", "success")
    back = local_path(request.form.get("next"))
    return redirect(back or url_for("console.outbox_email", email_id=email.id))
