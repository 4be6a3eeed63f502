"""The account-management outcome: a chosen or least-loaded manager, a job, a transfer or task."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Customer, Job, Role, User
from notifications.jobs import DayFull, JobError, create_job, least_loaded_manager

from ..errors import InvalidDisposition
from .tasks import create_callback_task
from .types import DeskSettings, Disposition, DispositionResult, OutcomeContext


def job_by_reference(session: Session, reference: str, field_name: str) -> Job:
    job = session.scalar(select(Job).where(Job.reference == reference))
    if job is None:
        raise InvalidDisposition({field_name: f"There is no job with reference {reference!r}."})
    return job


def route_to_account_manager(
    session: Session,
    ctx: OutcomeContext,
    disposition: Disposition,
    result: DispositionResult,
    actor: User,
    settings: DeskSettings,
    now: datetime,
    live_call: bool,
) -> None:
    if disposition.account_manager_id is not None:
        manager = session.get(User, disposition.account_manager_id)
        if manager is None or not manager.active or manager.role is not Role.ACCOUNT_MANAGER:
            raise InvalidDisposition({"account_manager_id": "Choose an active account manager."})
    else:
        manager = least_loaded_manager(session)
        if manager is None:
            raise InvalidDisposition(
                {"account_manager_id": "No account manager has free capacity: choose one."}
            )
    job = None
    if disposition.job_reference:
        job = job_by_reference(session, disposition.job_reference, "job_reference")
        if ctx.customer is not None and job.customer_id != ctx.customer.id:
            raise InvalidDisposition(
                {"job_reference": f"Job {job.reference} belongs to another customer."}
            )
    elif disposition.new_job_reference:
        if ctx.customer is None or not ctx.customer.email:
            raise InvalidDisposition(
                {"new_job_reference": "A new job needs the caller's name and email."}
            )
        job = _create_job(session, ctx.customer, disposition, manager, actor, settings, now)
    result.account_manager = manager
    result.job = job
    if disposition.transfer and live_call and manager.phone:
        result.transfer_to = manager
        result.transfer_mode = disposition.transfer_mode
    elif disposition.transfer and not manager.phone:
        raise InvalidDisposition(
            {"transfer": f"{manager.name} has no phone number to transfer to."}
        )
    else:
        result.task = create_callback_task(
            session,
            assignee=manager,
            customer=ctx.customer,
            call_id=ctx.call.id if ctx.call else None,
            job=job,
            notes=disposition.notes,
            now=now,
        )
    result.details = {
        "account_manager_id": manager.id,
        "job_id": job.id if job else None,
        "transfer": result.transfer_to is not None,
        "transfer_mode": result.transfer_mode if result.transfer_to is not None else None,
        "task_id": result.task.id if result.task else None,
    }


_JOB_FIELDS = {
    "reference": "new_job_reference",
    "description": "new_job_description",
    "eta": "new_job_eta",
}


def _create_job(
    session: Session,
    customer: Customer,
    disposition: Disposition,
    manager: User,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> Job:
    """New jobs go through the jobs area's service: its assignment, emails and capacity
    apply. A full day is refused with the days that have room (``new_job_eta_alternatives``,
    space-separated) unless the coordinator gives a reason to choose it anyway."""
    try:
        return create_job(
            session,
            reference=disposition.new_job_reference,
            customer={
                "name": customer.name,
                "email": customer.email,
                "phone": customer.phone,
                "company": customer.company,
            },
            description=disposition.new_job_description,
            eta=disposition.new_job_eta,
            account_manager_email=manager.email,
            eta_override_reason=disposition.new_job_eta_override_reason,
            actor=actor.email,
            settings=settings.job_settings,
            now=now,
        )
    except DayFull as exc:
        raise InvalidDisposition(
            {
                "new_job_eta": exc.message,
                "new_job_eta_alternatives": " ".join(d.isoformat() for d in exc.alternatives),
            }
        ) from None
    except JobError as exc:
        field_name = _JOB_FIELDS.get(exc.field or "", "new_job_reference")
        raise InvalidDisposition({field_name: exc.message}) from None
