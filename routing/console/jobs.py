"""Console pages for jobs: list and search, my jobs (at risk first), detail, create and edit."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from models import Job, JobStatus, Role
from models.hours import BusinessCalendar
from notifications.capacity import overrides_of
from notifications.jobs import (
    UNSET,
    DayFull,
    DuplicateJob,
    InvalidJob,
    InvalidTransition,
    JobError,
    JobSettings,
    UnknownAccountManager,
    create_job,
    find_job,
    open_job_counts,
    update_job,
)
from notifications.jobs.eta import Eta, eta_state
from notifications.jobs.queries import (
    PAGE_SIZE,
    JobRow,
    active_account_managers,
    audit_of,
    emails_of,
    jobs_of,
    search_jobs,
)

from ..clock import request_now
from ..database import get_session
from ..security import current_user, login_required, may_change_job, require_job_change
from .capacity import CapacityView, capacity_view, chosen_date
from .views import bp, page_arg

EDITORS = (Role.COORDINATOR, Role.ACCOUNT_MANAGER)


def _settings() -> JobSettings:
    return JobSettings.from_config(current_app.config["SWITCHBOARD_CONFIG"])


def _calendar(session: Session) -> BusinessCalendar:
    return BusinessCalendar.load(session, current_app.config.get("TIMEZONE") or "UTC")


def _actor() -> str:
    user = current_user()
    return user.email if user else "console"


@bp.get("/jobs")
@login_required()
def jobs():
    """Every job, searchable by reference or customer, filtered by status and manager."""
    session = get_session()
    query = request.args.get("q", "").strip()[:200]
    status = request.args.get("status", "")
    manager = request.args.get("manager", "")
    page = page_arg()
    found, total = search_jobs(session, query=query, status=status, manager=manager, page=page)
    calendar, now = _calendar(session), request_now()
    return render_template(
        "console/jobs/list.html",
        rows=[JobRow(job, eta_state(calendar, job, now)) for job in found],
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        query=query,
        status=status,
        manager=manager,
        managers=active_account_managers(session),
        statuses=list(JobStatus),
        zone=calendar.timezone,
    )


@bp.get("/jobs/mine")
@login_required()
def my_jobs():
    """The signed-in account manager's open jobs, the ones needing attention first."""
    session = get_session()
    calendar = _calendar(session)
    user = current_user()
    assert user is not None
    rows = jobs_of(session, user, calendar, request_now())
    return render_template(
        "console/jobs/mine.html",
        rows=rows,
        zone=calendar.timezone,
        reasons_required=True,
        capacity_views=_capacity_views(session, [row.job for row in rows]),
    )


def _capacity_views(session: Session, jobs: list[Job]) -> dict[int, CapacityView]:
    """One capacity view per job's ETA form, from one reading of the coming days."""
    base = capacity_view(session)
    return {job.id: capacity_view(session, job=job, base=base) for job in jobs}


def _job_form() -> dict[str, str]:
    fields = (
        "reference",
        "customer_name",
        "customer_email",
        "customer_phone",
        "customer_company",
        "description",
        "eta_date",
        "eta_time",
        "account_manager_email",
        "eta_override_reason",
    )
    form = {name: request.form.get(name, "").strip() for name in fields}
    form["eta_date"] = chosen_date(request.form, "eta_date", "eta_alternative")
    return form


def _eta_from_form(form: dict[str, str]) -> str:
    if form.get("eta_date") and form.get("eta_time"):
        return f"{form['eta_date']}T{form['eta_time']}"
    return form.get("eta_date", "")


@bp.route("/jobs/new", methods=["GET", "POST"])
@login_required(*EDITORS)
def job_new():
    """Create a job by hand (coordinators and account managers)."""
    session = get_session()
    form = _job_form() if request.method == "POST" else {}
    errors: dict[str, str] = {}
    full = None
    if request.method == "POST":
        try:
            job = create_job(
                session,
                reference=form["reference"],
                customer={
                    "name": form["customer_name"],
                    "email": form["customer_email"],
                    "phone": form["customer_phone"] or None,
                    "company": form["customer_company"] or None,
                },
                description=form["description"] or None,
                eta=_eta_from_form(form),
                account_manager_email=form["account_manager_email"] or None,
                eta_override_reason=form["eta_override_reason"] or None,
                actor=_actor(),
                settings=_settings(),
                now=request_now(),
            )
            session.commit()
        except DayFull as exc:
            session.rollback()
            full = exc
            errors["capacity"] = exc.message
        except DuplicateJob as exc:
            session.rollback()
            errors["reference"] = exc.message
        except JobError as exc:
            session.rollback()
            errors[(exc.field or "form").replace(".", "_")] = exc.message
        else:
            who = job.account_manager.name if job.account_manager else "nobody yet (admins told)"
            flash(f"Job {job.reference} created and assigned to {who}.", "success")
            return redirect(url_for("console.job_detail", reference=job.reference))
    return render_template(
        "console/jobs/form.html",
        form=form,
        errors=errors,
        managers=active_account_managers(session),
        counts=open_job_counts(session),
        capacity=capacity_view(session, full=full),
    ), (409 if full else 422 if errors else 200)


def _job_or_404(session: Session, reference: str) -> Job:
    job = find_job(session, reference)
    if job is None:
        abort(404, description=f"No job with reference {reference}.")
    return job


def _job_by_id(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        abort(404, description="No such job.")
    return job


@bp.route("/jobs/<int:job_id>/edit", methods=["GET", "POST"])
@login_required(*EDITORS)
def job_edit(job_id: int):
    """Edit a job's description and account manager (ETA and status have their own forms)."""
    session = get_session()
    job = _job_by_id(session, job_id)
    require_job_change(job)
    errors: dict[str, str] = {}
    if request.method == "POST":
        manager = request.form.get("account_manager_email", "").strip()
        try:
            update_job(
                session,
                job,
                description=request.form.get("description", ""),
                account_manager_email=manager or UNSET,
                actor=_actor(),
                settings=_settings(),
                now=request_now(),
            )
            session.commit()
        except JobError as exc:
            session.rollback()
            errors[exc.field or "form"] = exc.message
        else:
            flash(f"Job {job.reference} saved.", "success")
            return redirect(url_for("console.job_detail", reference=job.reference))
    return render_template(
        "console/jobs/edit.html",
        job=job,
        managers=active_account_managers(session),
        counts=open_job_counts(session),
        errors=errors,
    ), (422 if errors else 200)


def _apply(job: Job, **changes: Any):
    """Run one change through the job service; flash the outcome and go back."""
    session = get_session()
    try:
        update_job(session, job, actor=_actor(), settings=_settings(), now=request_now(), **changes)
        session.commit()
    except (InvalidJob, UnknownAccountManager, InvalidTransition) as exc:
        session.rollback()
        flash(exc.message, "error")
        return False
    return True


def _back(job: Job):
    target = request.form.get("next", "")
    if target == "mine":
        return redirect(url_for("console.my_jobs"))
    if target == "home":
        return redirect(url_for("console.home"))
    return redirect(url_for("console.job_detail", reference=job.reference))


@bp.post("/jobs/<int:job_id>/eta")
@login_required(*EDITORS)
def job_eta(job_id: int):
    """Change the ETA with its reason in one step; the customer hears once it settles."""
    session = get_session()
    job = _job_by_id(session, job_id)
    require_job_change(job)
    names = ("eta_date", "eta_time", "eta_reason", "eta_override_reason")
    form = {k: request.form.get(k, "").strip() for k in names}
    form["eta_date"] = chosen_date(request.form, "eta_date", "eta_alternative")
    if not form["eta_reason"]:
        flash("Give the reason for the new ETA: the customer reads it.", "error")
        return _back(job)
    try:
        update_job(
            session,
            job,
            eta=_eta_from_form(form),
            eta_reason=form["eta_reason"],
            eta_override_reason=form["eta_override_reason"] or None,
            actor=_actor(),
            settings=_settings(),
            now=request_now(),
        )
        session.commit()
    except DayFull as exc:
        # Shown on the job page: the day's load, the days with room, "choose anyway".
        session.rollback()
        return _render_detail(session, job, eta_values=form, full=exc, status=409)
    except (InvalidJob, UnknownAccountManager, InvalidTransition) as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(
            f"ETA of {job.reference} is now {Eta.of_job(job).describe(_calendar(session).timezone)}"
            f"; the customer is emailed in {_settings().settle_minutes} minutes unless it "
            "changes again.",
            "success",
        )
    return _back(job)


@bp.post("/jobs/<int:job_id>/status")
@login_required(*EDITORS)
def job_status(job_id: int):
    """Mark a job in progress, delivered (emails the feedback link) or cancelled."""
    session = get_session()
    job = _job_by_id(session, job_id)
    require_job_change(job)
    status = request.form.get("status", "")
    if _apply(job, status=status):
        flash(f"Job {job.reference} is now {job.status.value.replace('_', ' ')}.", "success")
    return _back(job)


@bp.post("/jobs/<int:job_id>/manager")
@login_required(*EDITORS)
def job_manager(job_id: int):
    """Hand the job to another account manager (the customer gets a handover email)."""
    session = get_session()
    job = _job_by_id(session, job_id)
    require_job_change(job)
    email = request.form.get("account_manager_email", "").strip()
    if not email:
        flash("Choose an account manager.", "error")
        return _back(job)
    if _apply(job, account_manager_email=email):
        who = job.account_manager.name if job.account_manager else email
        flash(f"{who} now manages {job.reference}.", "success")
    return _back(job)


@bp.get("/jobs/<path:reference>")
@login_required()
def job_detail(reference: str):
    """One job: ETA history with reasons, every email with its delivery state and events."""
    session = get_session()
    return _render_detail(session, _job_or_404(session, reference))


def _render_detail(
    session: Session,
    job: Job,
    *,
    eta_values: dict[str, str] | None = None,
    full: DayFull | None = None,
    status: int = 200,
):
    calendar = _calendar(session)
    overrides = overrides_of(session, job.id)
    return render_template(
        "console/jobs/detail.html",
        overrides=overrides,
        overridden_changes={o.eta_change_id for o in overrides if o.eta_change_id},
        capacity=capacity_view(session, job=job, full=full),
        eta_values=eta_values or {},
        job=job,
        eta=Eta.of_job(job),
        state=eta_state(calendar, job, request_now()),
        emails=emails_of(session, job),
        audit=audit_of(session, job),
        zone=calendar.timezone,
        managers=active_account_managers(session),
        can_edit=may_change_job(current_user(), job),
        Eta=Eta,
    ), status
