"""Directory import: `switchboard import KIND FILE.csv` and the importer service."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Customer, Line, OrgSettings, Role, Salesperson, User
from routing.cli import main
from routing.setup.importer import ImportFailed, import_directory
from tests.factories import make_customer, make_salesperson, make_user

SALESPEOPLE = (
    "name,email,mobile_number,twilio_number,notes\n"
    "Alice Smith,Alice.Smith@Example.com,(312) 555-0101,+1 646 555 0101,north\n"
    "Alice Smith,alice.smith@example.com,312.555.0102,646-555-0102,\n"
    "Rahul Mehta,rahul@example.com,3125550103,6465550103,\n"
)


NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def write(tmp_path: Path, text: str, name: str = "file.csv", bom: bool = False) -> str:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def test_salespeople_import_creates_one_line_per_row_with_e164_numbers(
    runner, db_session, tmp_path
):
    result = runner.invoke(main, ["import", "salespeople", write(tmp_path, SALESPEOPLE, bom=True)])
    assert result.exit_code == 0, result.output
    assert "salespeople: 3 created, 0 updated, 0 unchanged (3 rows)" in result.output
    alice = db_session.scalar(
        select(Salesperson).where(Salesperson.email == "alice.smith@example.com")
    )
    assert alice.name == "Alice Smith"
    assert [(line.public_number, line.twilio_number) for line in alice.lines] == [
        ("+13125550101", "+16465550101"),
        ("+13125550102", "+16465550102"),
    ]
    assert count(db_session, Salesperson) == 2
    assert db_session.scalar(select(AuditEntry).where(AuditEntry.action == "import salespeople"))


def test_reimport_updates_and_never_duplicates(runner, db_session, tmp_path):
    runner.invoke(main, ["import", "salespeople", write(tmp_path, SALESPEOPLE)])
    again = runner.invoke(main, ["import", "salespeople", write(tmp_path, SALESPEOPLE)])
    assert "0 created, 0 updated, 3 unchanged" in again.output
    renamed = SALESPEOPLE.replace("Rahul Mehta", "Rahul K. Mehta").replace(
        "3125550103", "3125550109"
    )
    changed = runner.invoke(main, ["import", "salespeople", write(tmp_path, renamed)])
    assert changed.exit_code == 0, changed.output
    assert "0 created, 1 updated, 2 unchanged" in changed.output
    rahul = db_session.scalar(select(Salesperson).where(Salesperson.email == "rahul@example.com"))
    db_session.refresh(rahul)
    assert rahul.name == "Rahul K. Mehta"
    assert [line.public_number for line in rahul.lines] == ["+13125550109"]
    assert count(db_session, Salesperson) == 2
    assert count(db_session, Line) == 3


def test_twilio_number_of_another_salespersons_line_is_refused(runner, db_session, tmp_path):
    make_salesperson(
        db_session,
        name="Tom Becker",
        email="tom@example.com",
        public_number="+13125550188",
        twilio_number="+16465550102",
    )
    db_session.commit()
    result = runner.invoke(main, ["import", "salespeople", write(tmp_path, SALESPEOPLE)])
    assert result.exit_code == 1
    assert (
        "line 3: twilio_number: +16465550102 is already the Twilio number of Tom Becker's line"
        in result.output
    )
    assert "nothing was imported" in result.output
    assert count(db_session, Salesperson) == 1


def test_duplicate_twilio_number_inside_one_file_names_both_lines(runner, db_session, tmp_path):
    text = SALESPEOPLE + "Sofia Garcia,sofia@example.com,3125550104,6465550101,\n"
    result = runner.invoke(main, ["import", "salespeople", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "line 5: twilio_number: +16465550101 is also on line 2" in result.output
    assert count(db_session, Salesperson) == 0


def test_identical_repeated_rows_are_merged(runner, db_session, tmp_path):
    text = SALESPEOPLE + "Rahul Mehta,RAHUL@example.com,312-555-0103,(646) 555-0103,\n"
    result = runner.invoke(main, ["import", "salespeople", write(tmp_path, text)])
    assert result.exit_code == 0, result.output
    assert count(db_session, Line) == 3


def test_every_bad_row_is_listed_and_nothing_is_imported(runner, db_session, tmp_path):
    text = (
        "name,email,phone,company,salesperson_email\n"
        "Good Customer,good@example.com,202-555-0143,Acme Ltd,\n"
        "Bad Phone,badphone@example.com,12,Acme Ltd,\n"
        "Bad Email,not-an-email,2025550144,,\n"
        ",noname@example.com,2025550145,,\n"
        "Orphan,orphan@example.com,2025550146,,ghost@example.com\n"
        "Nothing To Reach,,,,\n"
    )
    result = runner.invoke(main, ["import", "customers", write(tmp_path, text)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("line ")]
    assert lines == [
        "line 3: phone: '12' is not a valid phone number",
        lines[1],
        "line 5: name: is required",
        "line 6: salesperson_email: no salesperson has the email ghost@example.com",
        "line 7: phone: a phone number or an email address is required",
    ]
    assert lines[1].startswith("line 4: email: ")
    assert "5 bad rows; nothing was imported." in result.output
    assert count(db_session, Customer) == 0


def test_missing_column_is_a_clear_error(runner, db_session, tmp_path):
    text = "name,email,phone\nCora,cora@example.com,4155550201\n"
    result = runner.invoke(main, ["import", "account-managers", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "line 1: header: missing column capacity" in result.output
    assert count(db_session, User) == 0


def test_file_that_is_not_utf8_is_refused(runner, db_session, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,email,phone\nJos\xe9,jose@example.com,4155550201\n".encode("latin-1"))
    result = runner.invoke(main, ["import", "coordinators", str(path)])
    assert result.exit_code == 1
    assert "line 2: file: not UTF-8" in result.output


def test_customers_match_by_phone_then_email_and_keep_what_blank_cells_omit(
    runner, db_session, tmp_path
):
    alice = make_salesperson(db_session, email="alice@example.com")
    by_phone = make_customer(
        db_session, name="Old Name", phone="+12025550143", email=None, company="Acme Ltd"
    )
    by_email = make_customer(db_session, name="Jane Roe", phone=None, email="jane@example.com")
    db_session.commit()
    text = (
        "name,email,phone,company,salesperson_email\n"
        "New Name,new@example.com,(202) 555-0143,,alice@example.com\n"
        "Jane Roe,JANE@example.com,,,\n"
        "Fresh Face,fresh@example.com,2025550199,Bluebird,\n"
    )
    result = runner.invoke(main, ["import", "customers", write(tmp_path, text)])
    assert result.exit_code == 0, result.output
    assert "customers: 1 created, 1 updated, 1 unchanged (3 rows)" in result.output
    db_session.expire_all()
    updated = db_session.get(Customer, by_phone.id)
    assert (updated.name, updated.email, updated.company, updated.salesperson_id) == (
        "New Name",
        "new@example.com",
        "Acme Ltd",
        alice.id,
    )
    assert db_session.get(Customer, by_email.id).name == "Jane Roe"
    assert count(db_session, Customer) == 3


def test_customer_whose_phone_and_email_belong_to_two_customers_is_refused(
    runner, db_session, tmp_path
):
    make_customer(db_session, name="Ann", phone="+12025550143", email="ann@example.com")
    make_customer(db_session, name="Ben", phone="+12025550144", email="ben@example.com")
    db_session.commit()
    text = "name,email,phone,company,salesperson_email\nAnn,ben@example.com,2025550143,,\n"
    result = runner.invoke(main, ["import", "customers", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "line 2: email: ben@example.com belongs to 'Ben'" in result.output


def test_contradicting_customer_rows_in_one_file_are_an_error(runner, db_session, tmp_path):
    text = (
        "name,email,phone,company,salesperson_email\n"
        "Ann Lee,ann@example.com,2025550143,,\n"
        "Ann Lee,ann@example.com,2025550143,,\n"
        "Someone Else,other@example.com,2025550143,,\n"
    )
    result = runner.invoke(main, ["import", "customers", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "line 4: phone: this customer is also on line 2" in result.output
    assert "line 3" not in result.output


def test_coordinators_and_account_managers_become_users_without_login(runner, db_session, tmp_path):
    coordinators = "name,email,phone\nCora Jensen,cora@example.com,415 555 0201\n"
    managers = "name,email,phone,capacity\nBob Nakamura,bob@example.com,4155550301,12\n"
    assert (
        runner.invoke(main, ["import", "coordinators", write(tmp_path, coordinators)]).exit_code
        == 0
    )
    result = runner.invoke(main, ["import", "account-managers", write(tmp_path, managers, "m.csv")])
    assert result.exit_code == 0, result.output
    cora = db_session.scalar(select(User).where(User.email == "cora@example.com"))
    bob = db_session.scalar(select(User).where(User.email == "bob@example.com"))
    assert (cora.role, cora.phone, cora.password_hash) == (Role.COORDINATOR, "+14155550201", None)
    assert (bob.role, bob.capacity) == (Role.ACCOUNT_MANAGER, 12)
    more = managers.replace(",12", ",15")
    again = runner.invoke(main, ["import", "account-managers", write(tmp_path, more, "m.csv")])
    assert "0 created, 1 updated, 0 unchanged" in again.output
    db_session.refresh(bob)
    assert bob.capacity == 15


def test_bad_capacity_and_existing_user_of_another_role_are_refused(runner, db_session, tmp_path):
    make_user(db_session, role=Role.ADMIN, email="boss@example.com")
    db_session.commit()
    text = (
        "name,email,phone,capacity\n"
        "Boss,boss@example.com,4155550301,5\n"
        "Priya,priya@example.com,4155550302,lots\n"
    )
    result = runner.invoke(main, ["import", "account-managers", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "line 2: email: boss@example.com is already a user with the role admin" in result.output
    assert "line 3: capacity: must be a whole number of open jobs, got 'lots'" in result.output
    assert count(db_session, User) == 1


def test_importer_service_raises_with_every_error_and_adds_nothing(db_session):
    text = "name,email,phone\nCora,cora@example.com,nope\nDev,dev@,4155550202\n"
    with pytest.raises(ImportFailed) as failure:
        import_directory(db_session, "coordinators", text.encode(), now=NOW)
    assert [str(e) for e in failure.value.errors][
        0
    ] == "line 2: phone: 'nope' is not a phone number"
    assert [e.line for e in failure.value.errors] == [2, 3]
    assert not db_session.new


def test_large_customer_file_reports_progress(runner, db_session, tmp_path):
    rows = ["name,email,phone,company,salesperson_email"]
    rows += [f"Customer {i},c{i}@example.com,+1202555{i:04d},,," for i in range(2500)]
    result = runner.invoke(main, ["import", "customers", write(tmp_path, "\n".join(rows))])
    assert result.exit_code == 0, result.output
    assert "checking 1,000/2,500 rows" in result.output
    assert "writing 2,500/2,500 rows" in result.output
    assert count(db_session, Customer) == 2500


def test_same_user_twice_in_a_file_is_merged_or_refused(runner, db_session, tmp_path):
    same = (
        "name,email,phone\nCora,cora@example.com,4155550201\nCora,CORA@example.com,415-555-0201\n"
    )
    assert runner.invoke(main, ["import", "coordinators", write(tmp_path, same)]).exit_code == 0
    assert count(db_session, User) == 1
    different = same.replace("415-555-0201", "415-555-0299")
    result = runner.invoke(main, ["import", "coordinators", write(tmp_path, different, "d.csv")])
    assert result.exit_code == 1
    assert "line 3: email: cora@example.com is also on line 2" in result.output


def test_salesperson_with_two_names_in_one_file_is_refused(runner, db_session, tmp_path):
    text = SALESPEOPLE.replace("Alice Smith,alice.smith", "Alice Smyth,alice.smith")
    result = runner.invoke(main, ["import", "salespeople", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "line 3: name: alice.smith@example.com is named 'Alice Smith' on line 2" in result.output


def test_teleconference_dial_in_number_cannot_be_a_line(runner, db_session, tmp_path):
    db_session.add(OrgSettings(name="Org", timezone="UTC", teleconference_number="+16465550103"))
    db_session.commit()
    result = runner.invoke(main, ["import", "salespeople", write(tmp_path, SALESPEOPLE)])
    assert result.exit_code == 1
    assert "line 4: twilio_number: +16465550103 is the teleconference dial-in" in result.output


def test_a_number_used_as_mobile_and_twilio_number_is_refused(runner, db_session, tmp_path):
    looped = SALESPEOPLE + "Sofia Garcia,sofia@example.com,6465550101,6465550199,\n"
    result = runner.invoke(main, ["import", "salespeople", write(tmp_path, looped)])
    assert result.exit_code == 1
    assert "line 5: mobile_number: +16465550101 is also a number of line 2" in result.output
    make_salesperson(db_session, public_number="+13125550150", twilio_number="+16465550150")
    db_session.commit()
    crossed = (
        "name,email,mobile_number,twilio_number\nSofia,sofia@example.com,6465550150,6465550151\n"
    )
    result = runner.invoke(main, ["import", "salespeople", write(tmp_path, crossed, "x.csv")])
    assert result.exit_code == 1
    assert (
        "line 2: mobile_number: +16465550150 is already a number of another line" in result.output
    )


def test_check_option_reports_what_would_change_and_writes_nothing(runner, db_session, tmp_path):
    result = runner.invoke(main, ["import", "salespeople", "--check", write(tmp_path, SALESPEOPLE)])
    assert result.exit_code == 0, result.output
    assert "is good. Importing it would give: salespeople: 3 created" in result.output
    assert "Nothing written." in result.output
    assert count(db_session, Salesperson) == 0
    assert count(db_session, AuditEntry) == 0
    bad = runner.invoke(
        main, ["import", "salespeople", "--check", write(tmp_path, SALESPEOPLE + "X,x@,1,2\n")]
    )
    assert bad.exit_code == 1
    assert "line 5: email:" in bad.output


@pytest.mark.parametrize("batch", [1, 500])
def test_stored_duplicates_resolve_to_the_oldest_customer_whatever_the_batches(
    db_session, monkeypatch, batch
):
    """Rows are looked up a batch at a time; the oldest stored customer with a phone wins."""
    from routing.setup.importer import customers

    monkeypatch.setattr(customers, "batch_size", lambda _session: batch)
    oldest = make_customer(db_session, name="Oldest", phone="+14155550150", email=None)
    newer = make_customer(db_session, name="Newer", phone="+14155550150", email="n@example.com")
    db_session.commit()
    text = (
        "name,email,phone,company,salesperson_email\n"
        "Newer Renamed,n@example.com,,,\n"
        "Oldest Renamed,,(415) 555-0150,,\n"
    )
    summary = import_directory(db_session, "customers", text, now=NOW)
    db_session.commit()
    assert (summary.created, summary.updated) == (0, 2)
    db_session.expire_all()
    assert db_session.get(Customer, oldest.id).name == "Oldest Renamed"
    assert db_session.get(Customer, newer.id).name == "Newer Renamed"
