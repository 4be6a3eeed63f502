"""Admin: salespeople, their diverted lines and their console logins."""

from __future__ import annotations

from flask import abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Salesperson
from models.contact import format_phone

from ..database import get_session
from ..errors import SwitchboardError
from ..setup import admin as setup
from ..setup import users
from .views import _actor, _checked, _done, _failed, _region, bp


def _salespeople() -> list[Salesperson]:
    return list(
        get_session().scalars(
            select(Salesperson).options(selectinload(Salesperson.lines)).order_by(Salesperson.name)
        )
    )


@bp.get("/salespeople")
def salespeople():
    """Every salesperson with their diverted lines."""
    return render_template("admin/salespeople.html", salespeople=_salespeople(), errors={}, form={})


@bp.post("/salespeople")
def add_salesperson():
    """Add a salesperson, and their first line when both numbers are given."""
    form = request.form
    try:
        person = setup.add_salesperson(
            get_session(),
            _actor(),
            name=form.get("name", ""),
            email=form.get("email", ""),
            phone=form.get("phone"),
            public_number=form.get("public_number"),
            twilio_number=form.get("twilio_number"),
            region=_region(),
        )
    except SwitchboardError as exc:
        return _failed("admin/salespeople.html", exc, salespeople=_salespeople())
    return _done(f"Added {person.name}.", "admin.salesperson", salesperson_id=person.id)


def _person(salesperson_id: int) -> Salesperson:
    person = get_session().get(Salesperson, salesperson_id)
    if person is None:
        abort(404, description="No such salesperson.")
    return person


@bp.get("/salespeople/<int:salesperson_id>")
def salesperson(salesperson_id: int):
    """One salesperson: their details and lines, with forms to change them."""
    return render_template(
        "admin/salesperson.html", person=_person(salesperson_id), errors={}, form={}
    )


@bp.post("/salespeople/<int:salesperson_id>")
def edit_salesperson(salesperson_id: int):
    """Change a salesperson's name, email, private phone or whether they are active."""
    form = request.form
    try:
        person = setup.save_salesperson(
            get_session(),
            _actor(),
            salesperson_id=salesperson_id,
            name=form.get("name", ""),
            email=form.get("email", ""),
            phone=form.get("phone"),
            active=_checked("active"),
            region=_region(),
        )
    except SwitchboardError as exc:
        return _failed("admin/salesperson.html", exc, person=_person(salesperson_id))
    return _done(f"Saved {person.name}.", "admin.salesperson", salesperson_id=salesperson_id)


@bp.post("/salespeople/<int:salesperson_id>/login")
def give_salesperson_login(salesperson_id: int):
    """Give a salesperson a console login (her calendar and availability only)."""
    person = _person(salesperson_id)
    form = request.form
    try:
        users.give_salesperson_login(
            get_session(),
            _actor(),
            salesperson_id=salesperson_id,
            password=form.get("password", ""),
            password_again=form.get("password_again", ""),
            region=_region(),
        )
    except SwitchboardError as exc:
        return _failed("admin/salesperson.html", exc, person=person)
    return _done(
        f"{person.name} can now log in as {person.email}.",
        "admin.salesperson",
        salesperson_id=salesperson_id,
    )


@bp.post("/salespeople/<int:salesperson_id>/lines")
def add_line(salesperson_id: int):
    """Add a diverted line (old mobile number → Twilio number) to a salesperson."""
    form = request.form
    try:
        line = setup.save_line(
            get_session(),
            _actor(),
            salesperson_id=salesperson_id,
            line_id=None,
            public_number=form.get("public_number", ""),
            twilio_number=form.get("twilio_number", ""),
            region=_region(),
        )
    except SwitchboardError as exc:
        return _failed("admin/salesperson.html", exc, person=_person(salesperson_id))
    return _done(
        f"Added the line {format_phone(line.public_number)}.",
        "admin.salesperson",
        salesperson_id=salesperson_id,
    )


@bp.post("/salespeople/<int:salesperson_id>/lines/<int:line_id>")
def edit_line(salesperson_id: int, line_id: int):
    """Change a line's numbers, or switch it off (calls to it then reach an unknown line)."""
    form = request.form
    try:
        setup.save_line(
            get_session(),
            _actor(),
            salesperson_id=salesperson_id,
            line_id=line_id,
            public_number=form.get("public_number", ""),
            twilio_number=form.get("twilio_number", ""),
            active=_checked("active"),
            region=_region(),
        )
    except SwitchboardError as exc:
        return _failed(
            "admin/salesperson.html", exc, person=_person(salesperson_id), line_id=line_id
        )
    return _done("Saved the line.", "admin.salesperson", salesperson_id=salesperson_id)
