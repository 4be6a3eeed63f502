"""The figures on the home page, as each role reads them, on a fixed clock.

Wednesday 10 June 2026, 10:00 UTC; no business hours set, so every day is a business day
and a date ETA of tomorrow is at risk.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from models import Job, JobStatus, Role, Task, TaskKind
from tests.factories import make_call, make_customer, make_enquiry, make_user
from tests.test_app import login

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def app_overrides():
    return {"CLOCK": lambda: NOW}


def _job(session, reference, manager, *, day=None, at=None, **fields):
    customer = fields.pop("customer", None) or make_customer(session, name=f"Customer {reference}")
    job = Job(
        reference=reference,
        customer_id=customer.id,
        account_manager_id=manager.id,
        eta_date=day,
        eta_at=at,
        **fields,
    )
    session.add(job)
    session.flush()
    return job


def _task(session, assignee, description, due_at):
    session.add(
        Task(
            kind=TaskKind.CALLBACK, assignee_id=assignee.id, description=description, due_at=due_at
        )
    )


@pytest.fixture
def office(db_session):
    fay = make_user(db_session, role=Role.ACCOUNT_MANAGER, name="Fay Manager", capacity=10)
    gus = make_user(db_session, role=Role.ACCOUNT_MANAGER, name="Gus Manager", capacity=2)
    cora = make_user(db_session, role=Role.COORDINATOR, name="Cora Coordinator")
    ada = make_user(db_session, role=Role.ADMIN, name="Ada Admin")
    bounced = make_customer(db_session, name="Bounce Ltd")
    bounced.email_undeliverable = True
    _job(db_session, "F-PASSED-DATE", fay, day=date(2026, 6, 8))
    _job(db_session, "F-PASSED-AT", fay, at=NOW - timedelta(hours=1))
    _job(db_session, "F-TODAY", fay, at=NOW + timedelta(hours=5))
    _job(db_session, "F-RISK", fay, day=date(2026, 6, 11), customer=bounced)
    _job(db_session, "F-WEEK", fay, day=date(2026, 6, 15))
    _job(db_session, "F-LATER", fay, day=date(2026, 6, 30))
    _job(db_session, "F-DONE", fay, day=date(2026, 6, 1), status=JobStatus.DELIVERED)
    _job(db_session, "G-PASSED", gus, day=date(2026, 6, 9))
    _job(db_session, "G-WEEK", gus, day=date(2026, 6, 12))
    _job(
        db_session,
        "G-RATED",
        gus,
        day=date(2026, 6, 1),
        status=JobStatus.DELIVERED,
        feedback_rating=1,
        feedback_comment="Nobody called",
        feedback_at=NOW - timedelta(days=2),
    )
    _task(db_session, fay, "Fay: call Dana back", NOW - timedelta(minutes=5))
    _task(db_session, fay, "Fay: send the quote", NOW + timedelta(hours=3))
    _task(db_session, cora, "Cora: confirm the visit", NOW + timedelta(hours=1))
    make_enquiry(db_session, owner_id=gus.id, sla_deadline=NOW - timedelta(minutes=1))
    make_enquiry(db_session, sla_deadline=NOW + timedelta(minutes=10))
    make_call(db_session, answered_by=cora, started_at=NOW - timedelta(minutes=2))
    db_session.commit()
    return fay, gus, cora, ada


def _text(html: str) -> str:
    """What a reader sees: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _home(client, email, query=""):
    login(client, email)
    response = client.get(f"/{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html, _text(html)


def _in_order(html: str, *references: str) -> bool:
    positions = [html.index(f'href="/jobs/{ref}"') for ref in references]
    return positions == sorted(positions)


def test_account_manager_reads_her_own_figures(client, office):
    fay, _, _, _ = office
    html, text = _home(client, fay.email)
    assert "2 jobs past the ETA 2 due today or at risk" in text
    assert "6 of 10 open jobs (your capacity) 60 % full" in text
    assert (
        "ETA passed 2 · Due today 1 · At risk (due by the next business day) 1 · Due this week 1"
        in text
    )
    assert _in_order(html, "F-PASSED-AT", "F-PASSED-DATE", "F-TODAY", "F-RISK", "F-WEEK")
    for hidden in ("F-LATER", "F-DONE", "G-PASSED", "G-WEEK", "G-RATED"):
        assert f'href="/jobs/{hidden}"' not in html
    assert "2 open tasks for you 1 past due" in text
    assert "Your open tasks 2" in text and "Cora: confirm the visit" not in text
    assert "Enquiries assigned to you 0" in text
    assert "Bounce Ltd" in text and "1 open job" in text
    assert "No low ratings in the last 30 days." in text
    # The coordinators' tiles are not hers.
    assert "live call" not in text and "missed enquir" not in text


def test_coordinator_reads_the_team_figures(client, office):
    _, _, cora, _ = office
    html, text = _home(client, cora.email)
    assert "1 live call 1 of yours need an outcome" in text
    assert "2 missed enquiries 1 past their SLA" in text
    assert "1 open task for you" in text and "past due" not in text
    assert "3 jobs past the ETA 2 due today or at risk" in text
    assert "Open jobs of the team by urgency" in text
    assert (
        "ETA passed 3 · Due today 1 · At risk (due by the next business day) 1 · Due this week 2"
        in text
    )
    assert _in_order(html, "F-PASSED-AT", "G-PASSED", "F-PASSED-DATE", "G-WEEK", "F-WEEK")
    assert "Your open tasks 1" in text and "Fay: call Dana back" not in text
    assert "Open enquiries 2" in text
    assert "1/5 G-RATED" in text and "Nobody called" in text
    assert "Fay Manager 6 10 60 %" in text and "Gus Manager 2 2 full" in text
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]+)</option>', html)
    assert [name for _, name in options] == ["Whole team", "Fay Manager", "Gus Manager"]


def test_team_view_narrowed_to_one_manager(client, office):
    fay, gus, cora, _ = office
    html, text = _home(client, cora.email, f"?manager={gus.id}")
    assert "Gus Manager’s open jobs by urgency" in text
    assert (
        "ETA passed 1 · Due today 0 · At risk (due by the next business day) 0 · Due this week 1"
        in text
    )
    assert "1 job past the ETA" in text and "due today or at risk" not in text
    assert 'href="/jobs/G-PASSED"' in html and 'href="/jobs/F-PASSED-AT"' not in html
    assert "Enquiries assigned to Gus Manager 1" in text and "breached" in text
    assert "Bounce Ltd" not in text and "1/5 G-RATED" in text
    assert "Gus Manager 2 2 full" in text and "Fay Manager 6" not in text
    # Every manager can still be chosen; the chosen one is selected.
    assert f'<option value="{fay.id}" >Fay Manager</option>' in html
    assert f'<option value="{gus.id}" selected>Gus Manager</option>' in html
    # The coordinator's own figures do not change with the chosen manager.
    assert "2 missed enquiries 1 past their SLA" in text and "1 open task for you" in text


def test_admin_sees_every_task(client, office):
    _, _, _, ada = office
    _, text = _home(client, ada.email)
    assert "Open tasks 3" in text
    assert "Fay: call Dana back" in text and "Cora: confirm the visit" in text


def test_long_lists_are_cut_and_the_counts_stay_exact(client, db_session, office):
    fay, _, _, _ = office
    for n in range(26):
        _job(db_session, f"F-OLD-{n:02d}", fay, day=date(2026, 5, 1) + timedelta(days=n))
    db_session.commit()
    html, text = _home(client, fay.email)
    assert "28 jobs past the ETA" in text and "ETA passed 28 ·" in text
    overdue = html[html.index('id="jobs-overdue"') : html.index('id="jobs-today"')]
    assert overdue.count("<tr><td>") == 25
    assert "3 more: see jobs" in _text(overdue)
    # The most recently passed are the ones shown.
    assert 'href="/jobs/F-PASSED-AT"' in overdue and 'href="/jobs/F-OLD-00"' not in overdue


def _statements_of_home(client, connection) -> int:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        assert client.get("/").status_code == 200
    finally:
        event.remove(connection, "before_cursor_execute", count)
    return len(statements)


def test_home_reads_the_same_few_statements_however_many_rows_it_shows(
    client, db_session, connection, office
):
    _, _, cora, _ = office
    login(client, cora.email)
    few = _statements_of_home(client, connection)
    managers = [make_user(db_session, role=Role.ACCOUNT_MANAGER) for _ in range(5)]
    for n in range(60):
        manager = managers[n % len(managers)]
        _job(db_session, f"MANY-{n:02d}", manager, day=date(2026, 6, 1 + n % 15))
        _task(db_session, cora, f"Task {n}", NOW + timedelta(minutes=n))
        make_enquiry(db_session, owner_id=manager.id, sla_deadline=NOW + timedelta(minutes=n))
    db_session.commit()
    assert _statements_of_home(client, connection) == few
    assert few <= 15
