"""The emails a job causes, written to the outbox in the caller's transaction.

The customer's ETA promise is kept without any in-memory state: every email that tells
the customer an ETA (introduction, eta-change) stores it in ``context["eta"]``. The ETA
the customer "has" is the one in the newest such email that has left the outbox
(sending, sent or failed). While the newest one is still pending (an eta-change waiting
out the settle window, or an introduction not yet picked up) it is rewritten in place:
a further change updates it and pushes its send time back, and a change back to what the
customer already has cancels it. The rewrite is a conditional UPDATE on
``status = 'pending'``, so a worker that claimed the row first simply wins and the
change gets an email of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import (
    EmailStatus,
    EtaChange,
    FeedbackStage,
    Job,
    OutboundEmail,
    Role,
    User,
)
from models.contact import format_phone
from models.organisation import current_settings

from ..emails import Email, queue
from ..feedback_links import feedback_url
from .eta import Eta, at_risk_time

CUSTOMER_ETA_KINDS = ("introduction", "eta-change")
# Emails about a promise that no longer stands once the job is delivered or cancelled.
PROMISE_KINDS = ("eta-change", "eta-at-risk", "eta-passed")


def _org_name(session: Session) -> str:
    org = current_settings(session)
    return org.name if org and org.name else "Switchboard"


def _base_context(session: Session, job: Job, tz: ZoneInfo) -> dict[str, Any]:
    manager = job.account_manager
    return {
        "org_name": _org_name(session),
        "reference": job.reference,
        "description": job.description or "",
        "customer_name": job.customer.name,
        "company": job.customer.company or "",
        "eta": Eta.of_job(job).describe(tz),
        "manager_name": manager.name if manager else "",
        "manager_email": manager.email if manager else "",
        "manager_phone": format_phone(manager.phone) if manager else "",
    }


def _enqueue(
    session: Session,
    job: Job,
    kind: str,
    key: str,
    *,
    now: datetime,
    to: User | None = None,
    to_customer: bool = False,
    sender: User | None = None,
    send_at: datetime | None = None,
    context: dict[str, Any] | None = None,
    **template_context: Any,
) -> OutboundEmail | None:
    """Queue one job email of ``kind`` to the customer or to ``to``, from ``sender``."""
    if to_customer:
        to_email, to_name = job.customer.email, job.customer.name
    else:
        assert to is not None
        to_email, to_name = to.email, to.name
    if not to_email:
        return None
    email = Email(
        kind=kind,
        key=key,
        to_email=to_email,
        to_name=to_name,
        context=template_context,
        from_name=sender.name if sender else None,
        reply_to=sender.email if sender else None,
        job_id=job.id,
        send_at=send_at,
        stored=context,
    )
    return queue(session, email, now=now)[0]


def _to_customer(job: Job, kind: str, context: dict[str, Any], key: str = "") -> Email:
    """A customer email of ``kind`` (to rewrite a pending row, or to queue under ``key``)."""
    return Email(
        kind=kind,
        key=key,
        to_email=job.customer.email or "",
        to_name=job.customer.name,
        context=context,
        from_name=job.account_manager.name if job.account_manager else None,
        reply_to=job.account_manager.email if job.account_manager else None,
        job_id=job.id,
    )


def customer_was_introduced(session: Session, job: Job) -> bool:
    return (
        session.scalar(
            select(OutboundEmail.id).where(
                OutboundEmail.job_id == job.id, OutboundEmail.kind == "introduction"
            )
        )
        is not None
    )


def introduction(
    session: Session, job: Job, tz: ZoneInfo, now: datetime, settings: Any = None
) -> None:
    """The customer meets her account manager: ETA, promise to follow up, how to reach her.

    With ``settings`` (``secret_key``, ``public_base_url``) the email asks "how are we doing
    so far?" with a signed, expiring one-click rating link.
    """
    link = (
        feedback_url(
            settings.public_base_url, settings.secret_key, job.id, FeedbackStage.EARLY, now
        )
        if settings is not None
        else ""
    )
    _enqueue(
        session,
        job,
        "introduction",
        f"job:{job.id}:introduction",
        now=now,
        to_customer=True,
        sender=job.account_manager,
        context={"eta": Eta.of_job(job).iso(), "feedback_url": link},
        **_introduction_context(session, job, tz, link),
    )


def _introduction_context(session: Session, job: Job, tz: ZoneInfo, link: str) -> dict[str, Any]:
    return {
        **_base_context(session, job, tz),
        "feedback_url": link,
        "feedback_urls": [(n, f"{link}?rating={n}") for n in range(1, 6)] if link else [],
    }


def _introduction(session: Session, job: Job, tz: ZoneInfo, email: OutboundEmail) -> Email:
    """The introduction again (new ETA or manager), keeping the link it was written with."""
    link = (email.context or {}).get("feedback_url", "")
    return _to_customer(job, "introduction", _introduction_context(session, job, tz, link))


def assignment(
    session: Session, job: Job, manager: User, tz: ZoneInfo, audit_id: int, now: datetime
) -> None:
    _enqueue(
        session,
        job,
        "assignment",
        f"job:{job.id}:assignment:{audit_id}",
        now=now,
        to=manager,
        sender=manager,
        **_base_context(session, job, tz),
        customer_email=job.customer.email or "",
        customer_phone=format_phone(job.customer.phone),
    )


def handover(
    session: Session, job: Job, previous: User, tz: ZoneInfo, audit_id: int, now: datetime
) -> None:
    _enqueue(
        session,
        job,
        "handover",
        f"job:{job.id}:handover:{audit_id}",
        now=now,
        to_customer=True,
        sender=job.account_manager,
        previous_name=previous.name,
        **_base_context(session, job, tz),
    )


def unassigned_alert(
    session: Session, job: Job, settings: Any, audit_id: int, now: datetime
) -> None:
    """Every active admin hears that a job found no account manager with capacity."""
    tz = settings.zone(session)
    admins = session.scalars(
        select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    ).all()
    for admin in admins:
        _enqueue(
            session,
            job,
            "job-unassigned",
            f"job:{job.id}:unassigned:{audit_id}:{admin.id}",
            now=now,
            to=admin,
            job_url=job_link(settings.public_base_url, job),
            **_base_context(session, job, tz),
        )


def _latest_customer_eta_email(session: Session, job: Job) -> OutboundEmail | None:
    return session.scalar(
        select(OutboundEmail)
        .where(
            OutboundEmail.job_id == job.id,
            OutboundEmail.kind.in_(CUSTOMER_ETA_KINDS),
            OutboundEmail.status != EmailStatus.CANCELLED,
        )
        .order_by(OutboundEmail.id.desc())
        .limit(1)
    )


def _rewrite_if_pending(session: Session, email: OutboundEmail, **values: Any) -> bool:
    """Change a row only while no worker has claimed it; True when it was changed."""
    result = session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email.id, OutboundEmail.status == EmailStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire(email)
    return result.rowcount == 1


def eta_changed(
    session: Session, job: Job, change: EtaChange, tz: ZoneInfo, *, send_at: datetime
) -> None:
    """Tell the customer of the new ETA once it has settled (see the module docstring)."""
    new = Eta.of_job(job)
    latest = _latest_customer_eta_email(session, job)
    if latest is None:
        return  # not introduced yet (no account manager): the introduction will carry it
    if latest.status == EmailStatus.PENDING:
        if latest.kind == "introduction":
            rendered = _introduction(session, job, tz, latest).rendered()
            if _rewrite_if_pending(
                session,
                latest,
                subject=rendered.subject,
                text_body=rendered.text_body,
                html_body=rendered.html_body,
                context={**(latest.context or {}), "eta": new.iso()},
            ):
                return
        else:
            told = Eta.from_iso(latest.context["old_eta"])
            if new == told:
                if _rewrite_if_pending(session, latest, status=EmailStatus.CANCELLED):
                    return
            else:
                rendered = _eta_change(session, job, told, change.reason, tz).rendered()
                if _rewrite_if_pending(
                    session,
                    latest,
                    subject=rendered.subject,
                    text_body=rendered.text_body,
                    html_body=rendered.html_body,
                    next_attempt_at=send_at,
                    context={"eta": new.iso(), "old_eta": told.iso(), "reason": change.reason},
                ):
                    return
        # A worker claimed it meanwhile: what it sends is now what the customer has.
        latest = _latest_customer_eta_email(session, job)
        if latest is None:
            return
    told = Eta.from_iso(latest.context["eta"])
    if new == told:
        return
    email = _eta_change(session, job, told, change.reason, tz)
    email = replace(
        email,
        key=f"job:{job.id}:eta-change:{change.id}",
        send_at=send_at,
        stored={"eta": new.iso(), "old_eta": told.iso(), "reason": change.reason},
    )
    queue(session, email, now=send_at)


def _eta_change(session: Session, job: Job, told: Eta, reason: str | None, tz: ZoneInfo) -> Email:
    context = {
        "old_eta": told.describe(tz),
        "reason": reason or "",
        **_base_context(session, job, tz),
    }
    return _to_customer(job, "eta-change", context)


def resign_pending_customer_emails(session: Session, job: Job, tz: ZoneInfo) -> None:
    """After a handover, emails still waiting to go out come from the new manager."""
    manager = job.account_manager
    pending = session.scalars(
        select(OutboundEmail).where(
            OutboundEmail.job_id == job.id,
            OutboundEmail.kind.in_(CUSTOMER_ETA_KINDS),
            OutboundEmail.status == EmailStatus.PENDING,
        )
    ).all()
    for email in pending:
        if email.kind == "introduction":
            rendered = _introduction(session, job, tz, email).rendered()
        else:
            told = Eta.from_iso(email.context["old_eta"])
            rendered = _eta_change(session, job, told, email.context.get("reason"), tz).rendered()
        _rewrite_if_pending(
            session,
            email,
            subject=rendered.subject,
            text_body=rendered.text_body,
            html_body=rendered.html_body,
            from_name=manager.name if manager else None,
            reply_to=manager.email if manager else None,
        )


def cancel_pending_job_emails(session: Session, job: Job, *, kinds: Iterable[str]) -> int:
    result = session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.job_id == job.id,
            OutboundEmail.kind.in_(list(kinds)),
            OutboundEmail.status == EmailStatus.PENDING,
        )
        .values(status=EmailStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _upsert_scheduled(
    session: Session, job: Job, kind: str, key: str, to: User, send_at: datetime, **ctx: Any
) -> None:
    """A reminder for this ETA and manager: revived when it was cancelled, never re-sent."""
    existing = session.scalar(select(OutboundEmail).where(OutboundEmail.idempotency_key == key))
    if existing is None:
        _enqueue(session, job, kind, key, now=send_at, to=to, **ctx)
    elif existing.status == EmailStatus.CANCELLED:
        existing.status = EmailStatus.PENDING
        existing.next_attempt_at = send_at
        existing.scheduled_for = None


def job_link(base_url: str, job: Job) -> str:
    return f"{base_url.rstrip('/')}/jobs/{quote(job.reference, safe='')}"


def watch_eta(session: Session, job: Job, tz: ZoneInfo, now: datetime, base_url: str = "") -> None:
    """Warn the account manager a business day before the ETA, and when it has passed."""
    cancel_pending_job_emails(session, job, kinds=("eta-at-risk", "eta-passed"))
    manager = job.account_manager
    if manager is None or job.delivered_at is not None:
        return
    eta = Eta.of_job(job)
    ctx = _base_context(session, job, tz)
    ctx["job_url"] = job_link(base_url, job)
    warn_at = at_risk_time(session, eta, tz)
    if warn_at > now:
        _upsert_scheduled(
            session,
            job,
            "eta-at-risk",
            f"job:{job.id}:eta-at-risk:{eta.iso()}:{manager.id}",
            manager,
            warn_at,
            **ctx,
        )
    _upsert_scheduled(
        session,
        job,
        "eta-passed",
        f"job:{job.id}:eta-passed:{eta.iso()}:{manager.id}",
        manager,
        max(eta.deadline(tz), now),
        **ctx,
    )


def delivered(session: Session, job: Job, tz: ZoneInfo, settings: Any, now: datetime) -> None:
    link = feedback_url(
        settings.public_base_url, settings.secret_key, job.id, FeedbackStage.DELIVERED, now
    )
    _enqueue(
        session,
        job,
        "delivered",
        f"job:{job.id}:delivered",
        now=now,
        to_customer=True,
        sender=job.account_manager,
        feedback_url=link,
        feedback_urls=[(n, f"{link}?rating={n}") for n in range(1, 6)],
        **_base_context(session, job, tz),
    )


def low_rating_alert(
    session: Session,
    job: Job,
    tz: ZoneInfo,
    now: datetime,
    *,
    rating: int,
    comment: str | None,
    stage: FeedbackStage = FeedbackStage.DELIVERED,
) -> None:
    """The account manager hears of a low rating or a comment (early: "so far")."""
    manager = job.account_manager
    if manager is None:
        return
    _enqueue(
        session,
        job,
        "feedback-low-rating",
        f"job:{job.id}:feedback-{stage.value}",
        now=now,
        to=manager,
        rating=rating,
        comment=comment or "",
        early=stage is FeedbackStage.EARLY,
        **_base_context(session, job, tz),
    )


def undeliverable_alert(
    session: Session, job: Job, email: OutboundEmail, event: str, tz: ZoneInfo, now: datetime
) -> None:
    """The customer's address bounced or was dropped: her account manager should call."""
    manager = job.account_manager
    if manager is None:
        return
    _enqueue(
        session,
        job,
        "email-undeliverable",
        f"job:{job.id}:undeliverable:{email.id}",
        now=now,
        to=manager,
        bounced_email=email.to_email,
        bounced_subject=email.subject,
        event=event,
        customer_phone=format_phone(job.customer.phone),
        **_base_context(session, job, tz),
    )
