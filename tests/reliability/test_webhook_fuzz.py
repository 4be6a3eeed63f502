"""Hypothesis-generated, correctly signed Twilio forms against every /twilio/ webhook.

The same property as tests/routing/test_voice_fuzz.py (run by ``make test`` with a hundred
cases), here with a thousand, on the suite's database (PostgreSQL in CI).
"""

from __future__ import annotations

import pytest

from tests.reliability import figures
from tests.routing.test_voice_fuzz import fuzz_webhooks

CASES = 1000


@pytest.mark.timeout(300)
def test_generated_twilio_forms_never_meet_a_server_error(client):
    n = fuzz_webhooks(client, max_examples=CASES)
    assert n >= CASES // 2  # forms over 64 KB are discarded, not counted
    figures.record("fuzz: Twilio webhooks", f"{n:,} cases: 0 server errors")
