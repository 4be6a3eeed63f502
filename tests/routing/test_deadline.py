"""The call path's deadline interrupts a wait of the database driver under gevent."""

from __future__ import annotations

import time

import gevent
import pytest

from routing import deadline as deadlines
from routing.deadline import DeadlineExceeded, deadline


def test_outside_gevent_the_work_runs_to_completion():
    assert not deadlines.enforced()  # the test process is not monkey-patched
    with deadline(0.01):
        time.sleep(0.05)


def test_under_gevent_a_wait_past_the_deadline_is_interrupted(monkeypatch):
    monkeypatch.setattr(deadlines, "enforced", lambda: True)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        with deadline(0.05):
            gevent.sleep(5)  # what psycopg's socket wait becomes under gevent
    assert time.monotonic() - started < 1


def test_an_inner_timeout_is_not_taken_for_the_deadline(monkeypatch):
    monkeypatch.setattr(deadlines, "enforced", lambda: True)
    with pytest.raises(gevent.Timeout):
        with deadline(5):
            with gevent.Timeout(0.01):
                gevent.sleep(1)
