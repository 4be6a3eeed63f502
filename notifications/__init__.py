"""Everything that reaches people after the call, and the worker process that sends it.

Owns the email outbox (one row per email, the truth about what was sent), the email
templates, the SendGrid and development senders, the APScheduler worker and the jobs
it runs (dispatch, SLA alerts, digests, reminders), and the domain services the worker
and the web process share: jobs and their ETA emails, delivery capacity, feedback.
Imports ``models`` and ``config`` only, never ``routing``.
"""
