"""`switchboard demo`: a realistic organisation, loaded once however often it runs."""

from __future__ import annotations

from sqlalchemy import func, select

from models import (
    BusinessHours,
    Call,
    Customer,
    Enquiry,
    EtaChange,
    Job,
    Line,
    OrgSettings,
    OutboundEmail,
    Role,
    Salesperson,
    User,
)
from routing.cli import main
from routing.setup.demo import DEMO_PASSWORD
from tests.test_app import login

COUNTED = (
    User,
    Salesperson,
    Line,
    Customer,
    Job,
    EtaChange,
    OutboundEmail,
    Call,
    Enquiry,
    BusinessHours,
    OrgSettings,
)


def counts(db_session) -> dict[str, int]:
    return {
        model.__name__: db_session.scalar(select(func.count()).select_from(model))
        for model in COUNTED
    }


def test_demo_loads_a_realistic_organisation_and_prints_logins(runner, app, db_session):
    result = runner.invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    loaded = counts(db_session)
    assert loaded["Salesperson"] >= 3 and loaded["Line"] >= 3
    assert loaded["Customer"] >= 50 and loaded["Job"] >= 3
    assert loaded["Enquiry"] >= 1 and loaded["Call"] >= 3
    assert loaded["BusinessHours"] == 5
    assert loaded["EtaChange"] >= 1
    # Jobs came through the job service: each has its assignment and introduction emails.
    kinds = set(db_session.scalars(select(OutboundEmail.kind)))
    assert {"assignment", "introduction"} <= kinds
    assert (
        db_session.scalar(
            select(func.count()).select_from(Job).where(Job.account_manager_id.is_not(None))
        )
        == loaded["Job"]
    )
    roles = dict(db_session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert roles[Role.COORDINATOR] >= 3 and roles[Role.ACCOUNT_MANAGER] >= 3
    assert roles[Role.ADMIN] == 1
    settings = db_session.scalar(select(OrgSettings))
    assert settings.teleconference_number and settings.timezone == "UTC"

    assert "http://127.0.0.1:5000/login" in result.output
    assert "switchboard simulate call --from +1" in result.output
    assert "--to +16465550101" in result.output
    for email in ("admin@northwind.example", "cora@northwind.example", "bob@northwind.example"):
        assert email in result.output
        assert login(app.test_client(), email, DEMO_PASSWORD).status_code == 302


def test_demo_twice_changes_and_duplicates_nothing(runner, db_session):
    assert runner.invoke(main, ["demo"]).exit_code == 0
    first = counts(db_session)
    names = sorted(db_session.scalars(select(Customer.name)))
    again = runner.invoke(main, ["demo"])
    assert again.exit_code == 0
    assert "already loaded; nothing changed" in again.output
    assert counts(db_session) == first
    assert sorted(db_session.scalars(select(Customer.name))) == names


def test_demo_keeps_a_password_an_admin_changed(runner, client, db_session):
    runner.invoke(main, ["demo"])
    runner.invoke(
        main, ["user", "password", "--email", "cora@northwind.example", "--password", "mine-now!"]
    )
    runner.invoke(main, ["demo"])
    assert login(client, "cora@northwind.example", DEMO_PASSWORD).status_code == 401
    assert login(client, "cora@northwind.example", "mine-now!").status_code == 302
