"""The web clock: one instant per request, taken from the clock the app was given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routing import create_app
from routing.clock import EXTENSION, request_now


def test_a_request_sees_one_instant_from_the_installed_clock():
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    ticks = iter(datetime(2031, 3, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=i) for i in range(9))
    app.extensions[EXTENSION] = lambda: next(ticks)
    with app.test_request_context("/"):
        first, second = request_now(), request_now()
    with app.test_request_context("/"):
        third = request_now()
    assert first == second == datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
    assert third == datetime(2031, 3, 1, 12, 0, 1, tzinfo=UTC)
