"""Console search by a fragment of a name, email, company or job reference.

On PostgreSQL the fragment is found through trigram indexes on the lowercased columns
(migration 0002); on SQLite by scanning. Either way the results are the same.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from models import Job
from routing.desk.search import search
from tests.factories import make_customer


def test_search_finds_a_fragment_inside_a_name_email_company_or_job_reference(db_session):
    dana = make_customer(
        db_session,
        name="Dana Buyer",
        email="dana.buyer@kitchens.example.com",
        company="Northside Kitchens Ltd",
    )
    make_customer(db_session, name="Someone Else", company="Other Trade")
    db_session.add(Job(reference="ORD-2026-4711", customer_id=dana.id))
    db_session.flush()
    for fragment in ("na bu", "BUYER", "@kitchens.ex", "thside kit"):
        assert search(db_session, fragment).customers == [dana], fragment
    found = search(db_session, "26-471")
    assert [job.reference for job in found.jobs] == ["ORD-2026-4711"]
    assert search(db_session, "na_bu").empty


@pytest.mark.postgres
def test_customer_search_by_a_name_fragment_reads_a_trigram_index(
    db_session, connection, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL pointing at PostgreSQL")
    make_customer(db_session, name="Dana Buyer", company="Kitchens Ltd")
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM customers" in statement:
            statements.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", record)
    try:
        assert search(db_session, "buyer").customers
    finally:
        event.remove(connection, "before_cursor_execute", record)
    [(statement, parameters)] = statements
    # A table of a few rows is cheapest to scan; with scans priced out the plan shows
    # whether an index can answer the leading-wildcard LIKE at all.
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    assert "Bitmap Index Scan on ix_customers_name_trgm" in plan, plan
