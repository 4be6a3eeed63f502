"""Customers and leads, search, salespeople's calendars and follow-up tasks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from models import (
    Appointment,
    Call,
    Customer,
    Enquiry,
    Job,
    Role,
    Salesperson,
    Task,
    TaskStatus,
    Teleconference,
)

from ..clock import request_now
from ..database import get_session
from ..desk.booking import free_slots, week_appointments
from ..desk.disposition import TASK_OUTCOMES, close_task
from ..desk.errors import AlreadyDisposed, InvalidDisposition, TaskNotFound
from ..desk.search import search as run_search
from ..errors import NotFound
from ..security import current_user, login_required, may_see_task
from .helpers import zone
from .views import bp

PAGE_SIZE = 50


@bp.get("/customers")
@login_required()
def customers():
    """Every customer and lead, newest first, or those matching the search box."""
    session = get_session()
    query = (request.args.get("q") or "").strip()
    page = max(1, request.args.get("page", 1, type=int))
    if query:
        results = run_search(session, query, region=_region())
        rows, total = results.customers, len(results.customers)
    else:
        total = session.scalar(select(func.count(Customer.id)))
        rows = session.scalars(
            select(Customer)
            .options(selectinload(Customer.salesperson))
            .order_by(Customer.id.desc())  # newest first, by the primary key
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
    return render_template(
        "console/customers.html",
        customers=rows,
        query=query,
        page=page,
        total=total,
        page_size=PAGE_SIZE,
    )


@bp.get("/customers/<int:customer_id>")
@login_required()
def customer_detail(customer_id: int):
    """A customer: owner, jobs with ETA and account manager, calls, appointments, tasks."""
    session = get_session()
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("There is no such customer.")
    jobs = session.scalars(
        select(Job)
        .where(Job.customer_id == customer.id)
        .options(selectinload(Job.account_manager))
        .order_by(Job.created_at.desc())
    ).all()
    calls = session.scalars(
        select(Call)
        .where(Call.customer_id == customer.id)
        .options(selectinload(Call.answered_by))
        .order_by(Call.started_at.desc())
        .limit(50)
    ).all()
    appointments = session.scalars(
        select(Appointment)
        .where(Appointment.customer_id == customer.id)
        .options(selectinload(Appointment.salesperson))
        .order_by(Appointment.start_at.desc())
    ).all()
    conferences = session.scalars(
        select(Teleconference)
        .where(Teleconference.customer_id == customer.id)
        .order_by(Teleconference.start_at.desc())
    ).all()
    tasks = [
        task
        for task in session.scalars(
            select(Task)
            .where(Task.customer_id == customer.id)
            .options(selectinload(Task.assignee))
            .order_by(Task.created_at.desc())
        )
        if may_see_task(current_user(), task)
    ]
    enquiries = session.scalars(
        select(Enquiry)
        .where(Enquiry.customer_id == customer.id)
        .order_by(Enquiry.created_at.desc())
    ).all()
    return render_template(
        "console/customer.html",
        customer=customer,
        jobs=jobs,
        calls=calls,
        appointments=appointments,
        conferences=conferences,
        tasks=tasks,
        enquiries=enquiries,
    )


@bp.get("/search")
@login_required()
def search():
    """Find customers and jobs by name, phone, email, company or job reference."""
    query = (request.args.get("q") or "").strip()
    results = run_search(get_session(), query, region=_region()) if query else None
    return render_template("console/search.html", query=query, results=results)


def _region() -> str:
    from flask import current_app

    return current_app.config.get("DEFAULT_REGION", "US")


@bp.get("/salespeople")
@login_required()
def salespeople():
    """Salespeople, each with a link to their calendar."""
    people = (
        get_session()
        .scalars(
            select(Salesperson).options(selectinload(Salesperson.lines)).order_by(Salesperson.name)
        )
        .all()
    )
    return render_template("console/salespeople.html", people=people)


@bp.get("/salespeople/<int:salesperson_id>/calendar")
@login_required(Role.COORDINATOR, Role.ACCOUNT_MANAGER, Role.SALESPERSON)
def calendar(salesperson_id: int):
    """A salesperson's week: appointments booked and slots still free, in the org's zone."""
    from .availability import visible_salesperson

    session = get_session()
    person = visible_salesperson(salesperson_id)
    org_zone = zone()
    now = request_now()
    today = now.astimezone(org_zone).date()
    try:
        first = date.fromisoformat(request.args["week"]) if request.args.get("week") else today
    except ValueError:
        first = today
    first = first - timedelta(days=first.weekday())
    start = datetime.combine(first, datetime.min.time(), tzinfo=org_zone).astimezone(UTC)
    end = start + timedelta(days=7)
    appointments = week_appointments(session, person.id, start, end)
    horizon = max(0, (end.astimezone(org_zone).date() - today).days + 1)
    offered = free_slots(session, person.id, zone=org_zone, now=now, days=horizon)
    slots = [slot for slot in offered if start <= slot.start < end]
    days = []
    for offset in range(7):
        day = first + timedelta(days=offset)
        days.append(
            {
                "date": day,
                "off": next((t for t in person.time_off if t.first_day <= day <= t.last_day), None),
                "appointments": [
                    a for a in appointments if a.start_at.astimezone(org_zone).date() == day
                ],
                "free": [s for s in slots if s.start.astimezone(org_zone).date() == day],
            }
        )
    return render_template(
        "console/calendar.html",
        person=person,
        days=days,
        week_start=first,
        previous_week=(first - timedelta(days=7)).isoformat(),
        next_week=(first + timedelta(days=7)).isoformat(),
    )


@bp.get("/tasks")
@login_required()
def tasks():
    """Open follow-up tasks assigned to you; admins may see everyone's (PRODUCT.md §4)."""
    session = get_session()
    user = current_user()
    query = (
        select(Task)
        .where(Task.status == TaskStatus.OPEN)
        .options(selectinload(Task.assignee), selectinload(Task.customer))
        .order_by(Task.due_at)
    )
    mine_only = request.args.get("mine") == "1" or user.role is not Role.ADMIN
    if mine_only:
        query = query.where(Task.assignee_id == user.id)
    return render_template(
        "console/tasks.html", tasks=session.scalars(query).all(), mine_only=mine_only
    )


def _render_task(task_id: int, *, form=None, errors=None, status=200):
    session = get_session()
    task = session.get(Task, task_id)
    if task is None or not may_see_task(current_user(), task):
        raise NotFound("There is no such task.")
    job = session.get(Job, task.job_id) if task.job_id else None
    return (
        render_template(
            "console/task.html",
            task=task,
            job=job,
            choices=TASK_OUTCOMES[task.kind],
            values=form or {},
            errors=errors or {},
        ),
        status,
    )


@bp.get("/tasks/<int:task_id>")
@login_required()
def task_detail(task_id: int):
    """A task and the form recording its outcome (saved / lost, and why)."""
    return _render_task(task_id)


@bp.post("/tasks/<int:task_id>")
@login_required()
def task_close(task_id: int):
    """Record the task's outcome."""
    session = get_session()
    task = session.get(Task, task_id)
    if task is None or not may_see_task(current_user(), task):
        raise NotFound("There is no such task.")
    try:
        close_task(
            session,
            task_id,
            outcome=request.form.get("outcome", ""),
            why=request.form.get("outcome_notes", ""),
            actor=current_user(),
            now=request_now(),
        )
        session.commit()
    except TaskNotFound as exc:
        raise NotFound(exc.message) from None
    except InvalidDisposition as exc:
        session.rollback()
        return _render_task(task_id, form=request.form, errors=exc.errors, status=422)
    except AlreadyDisposed as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("console.task_detail", task_id=task_id))
    flash("Outcome recorded.", "success")
    return redirect(url_for("console.tasks"))
