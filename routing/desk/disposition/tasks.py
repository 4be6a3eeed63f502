"""Tasks a disposition leaves: a callback for an account manager; closing any task."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from models import Customer, Job, Role, Task, TaskKind, TaskStatus, User, audit

from ..errors import AlreadyDisposed, InvalidDisposition, NotYourTask, TaskNotFound


def create_callback_task(
    session: Session,
    *,
    assignee: User,
    customer: Customer | None,
    call_id: int | None,
    job: Job | None,
    notes: str | None,
    now: datetime,
) -> Task:
    """A task asking ``assignee`` to call the customer back (within one hour)."""
    who = customer.name if customer else "the caller"
    task = Task(
        kind=TaskKind.CALLBACK,
        assignee_id=assignee.id,
        customer_id=customer.id if customer else None,
        call_id=call_id,
        job_id=job.id if job else None,
        description=f"Call {who} back" + (f": {notes}" if notes else "."),
        due_at=now + timedelta(hours=1),
    )
    session.add(task)
    session.flush()
    return task


TASK_OUTCOMES = {
    TaskKind.SAVE_THE_SALE: ("saved", "lost"),
    TaskKind.CALLBACK: ("done", "unreachable"),
}


def close_task(
    session: Session,
    task_id: int,
    *,
    outcome: str,
    why: str,
    actor: User,
    now: datetime,
) -> Task:
    """Close a task with its outcome and what happened (both required).

    A save-the-sale task ends "saved" or "lost"; a callback "done" or "unreachable".
    """
    task = session.get(Task, task_id)
    if task is None:
        raise TaskNotFound("There is no such task.")
    if task.status is TaskStatus.DONE:
        raise AlreadyDisposed("This task is already closed.")
    if actor.role is not Role.ADMIN and task.assignee_id != actor.id:
        raise NotYourTask("This task belongs to someone else.")
    errors = {}
    allowed = TASK_OUTCOMES[task.kind]
    if outcome not in allowed:
        errors["outcome"] = "Choose " + " or ".join(allowed) + "."
    if not why.strip():
        errors["outcome_notes"] = "Say what happened."
    if errors:
        raise InvalidDisposition(errors)
    task.status = TaskStatus.DONE
    task.outcome = outcome
    task.outcome_notes = why.strip()
    task.done_at = now
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="task",
        entity_id=task.id,
        action=f"closed_{outcome}",
        details={"why": task.outcome_notes},
    )
    session.flush()
    return task
