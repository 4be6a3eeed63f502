"""The refund outcome: a save-the-sale task, and the salesperson and manager hear at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Job, Task, TaskKind, User
from models.job import OPEN_JOB_STATUSES
from notifications import emails

from ..errors import InvalidDisposition
from .account_management import job_by_reference
from .types import DeskSettings, Disposition, DispositionResult, OutcomeContext


def refund_request(
    session: Session,
    ctx: OutcomeContext,
    disposition: Disposition,
    result: DispositionResult,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> None:
    customer = ctx.customer
    job = None
    if disposition.job_reference:
        job = job_by_reference(session, disposition.job_reference, "refund_job_reference")
        if job.customer_id != customer.id:
            raise InvalidDisposition(
                {"refund_job_reference": f"Job {job.reference} belongs to another customer."}
            )
    else:
        job = session.scalars(
            select(Job)
            .where(Job.customer_id == customer.id, Job.status.in_(OPEN_JOB_STATUSES))
            .order_by(Job.created_at.desc())
        ).first()
    manager = session.get(User, job.account_manager_id) if job and job.account_manager_id else None
    owner = manager or actor
    task = Task(
        kind=TaskKind.SAVE_THE_SALE,
        assignee_id=owner.id,
        customer_id=customer.id,
        call_id=ctx.call.id if ctx.call else None,
        job_id=job.id if job else None,
        description=f"Save the sale: {disposition.refund_reason}",
        due_at=now + timedelta(days=1),
    )
    session.add(task)
    session.flush()
    recipients: list[tuple[str, str]] = []
    if ctx.salesperson is not None:
        recipients.append((ctx.salesperson.name, ctx.salesperson.email))
    if manager is not None and manager.email not in {e for _, e in recipients}:
        recipients.append((manager.name, manager.email))
    task_url = f"{settings.console_url.rstrip('/')}/tasks/{task.id}"
    emails.send_refund_escalations(
        session,
        recipients,
        task_id=task.id,
        customer=customer,
        job=job,
        reason=disposition.refund_reason,
        salesperson_name=ctx.salesperson.name if ctx.salesperson else "our",
        coordinator=actor,
        when=f"{now.astimezone(settings.zone):%d %b %Y %H:%M} ({settings.zone.key})",
        task_owner_name=owner.name,
        task_url=task_url,
        now=now,
    )
    result.task = task
    result.job = job
    result.account_manager = manager
    result.details = {
        "task_id": task.id,
        "reason": disposition.refund_reason,
        "job_id": job.id if job else None,
        "escalated_to": [email for _, email in recipients],
    }
