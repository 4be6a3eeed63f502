"""Benchmark: signed POST /twilio/voice/incoming against a constant-TwiML Flask baseline.

Run ``python -m bench.webhook`` (PostgreSQL, full size) or ``python -m bench.webhook
--quick`` (small data, a few seconds). See bench/webhook/README.md.
"""
