"""A call keeps its line and customer until one of them is deleted; then the call stays,
without the reference (ON DELETE SET NULL on SQLite, migration 0009's triggers on
PostgreSQL, where the calls table has no foreign-key row locks)."""

from __future__ import annotations

from sqlalchemy import delete, select

from models import Call, Customer, Line
from tests.factories import make_call, make_customer, make_salesperson


def test_deleting_a_line_or_a_customer_keeps_their_calls_without_the_reference(db_session):
    line = make_salesperson(db_session).lines[0]
    customer = make_customer(db_session)
    call = make_call(db_session, line=line, customer=customer)
    other = make_call(db_session, line=make_salesperson(db_session).lines[0])
    db_session.flush()
    other_line_id = other.line_id

    db_session.execute(delete(Line).where(Line.id == line.id))
    db_session.execute(delete(Customer).where(Customer.id == customer.id))
    db_session.expire_all()

    rows = {
        row.id: (row.line_id, row.customer_id)
        for row in db_session.execute(select(Call.id, Call.line_id, Call.customer_id))
    }
    assert rows[call.id] == (None, None)
    assert rows[other.id] == (other_line_id, None)
    assert db_session.get(Call, call.id).line is None
