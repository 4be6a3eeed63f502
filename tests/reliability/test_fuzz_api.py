"""Schemathesis on ``/api/v1/openapi.json`` with a valid token, at volume: no 5xx, ever.

``tests/routing/test_api_schema.py`` checks the API against its document on every run;
this one generates several times more cases (valid and invalid bodies, odd strings,
wrong types) and records how many ran for the figures table.
"""

from __future__ import annotations

import itertools

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from models import Role
from routing.tokens import create_token
from tests.factories import make_user
from tests.reliability import figures

EXAMPLES = 100


def test_the_api_answers_thousands_of_generated_requests_without_a_server_error(app, db_session):
    make_user(db_session, role=Role.ACCOUNT_MANAGER, email="carol@example.com", capacity=1000)
    raw = create_token(db_session, "fuzz")
    db_session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: dict[int, int] = {}

    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case):
            negative = case.meta.generation.mode is GenerationMode.NEGATIVE
            if negative and "Authorization" not in (case.headers or {}):
                # Made invalid only by leaving out the token, which this test adds back (the
                # API's 401 is checked in the route inventory).
                return
            # Schema-valid bodies may break business rules (422); every other check stays.
            response = case.call_and_validate(
                headers=headers, excluded_checks=[positive_data_acceptance]
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        conforms()

    cases = sum(statuses.values())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    assert server_errors == 0
    figures.record(
        "fuzz: API",
        f"{cases:,} generated requests over {len(operations)} operations with a valid token: "
        f"{server_errors} server errors ("
        + ", ".join(f"{s} ×{n}" for s, n in sorted(statuses.items()))
        + ")",
    )
