"""What the coordinator hears before taking a call: whose line, who, which jobs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import OPEN_JOB_STATUSES, Call, Customer, Job, Line

# A whisper is heard standing at a desk: name at most this many jobs.
MAX_JOBS_SPOKEN = 3


def whisper_text(session: Session, call_sid: str) -> str:
    """E.g. "Call for Alice Smith's line. Acme Limited. Open job 4711, account manager
    Bob Jones. Press 1 to take the call." """
    call = session.scalar(
        select(Call)
        .where(Call.call_sid == call_sid)
        .options(
            joinedload(Call.line).joinedload(Line.salesperson),
            joinedload(Call.customer),
        )
    )
    parts: list[str] = []
    if call is None or call.line is None:
        parts.append("Call on an unknown line.")
    else:
        parts.append(f"Call for {call.line.salesperson.name}'s line.")
    customer: Customer | None = call.customer if call is not None else None
    if customer is None:
        withheld = call is None or call.caller_number is None
        parts.append("Withheld number, new caller." if withheld else "New caller.")
    else:
        parts.append(f"{customer.company or customer.name}.")
        jobs = list(
            session.scalars(
                select(Job)
                .where(Job.customer_id == customer.id, Job.status.in_(OPEN_JOB_STATUSES))
                .options(joinedload(Job.account_manager))
                .order_by(Job.created_at.desc())
                .limit(MAX_JOBS_SPOKEN)
            )
        )
        if jobs:
            refs = ", ".join(job.reference for job in jobs)
            noun = "Open job" if len(jobs) == 1 else "Open jobs"
            managers = []
            for job in jobs:
                if job.account_manager and job.account_manager.name not in managers:
                    managers.append(job.account_manager.name)
            manager = (
                f", account manager {' and '.join(managers)}."
                if managers
                else ", no account manager."
            )
            parts.append(f"{noun} {refs}{manager}")
        else:
            parts.append("No open jobs.")
    parts.append("Press 1 to take the call.")
    return " ".join(parts)
