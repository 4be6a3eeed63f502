"""Missed-enquiry SLAs: a warning at 80 % to whoever owns it (the team when unclaimed),
then, past the deadline, the supervisor; each once per enquiry.

Run periodically by the worker. The outbox idempotency key (one per enquiry and
recipient) makes a re-run, or two workers racing, harmless; ``sla_breach_alerted_at``
keeps the next scan from looking at the enquiry again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import Enquiry, EnquiryStatus, Line, Role, User
from models.contact import format_phone
from models.organisation import current_settings

from . import emails

log = logging.getLogger(__name__)


def supervisors(session: Session) -> list[tuple[str, str]]:
    """(name, email) of whoever hears about breaches: the supervisor, else every admin."""
    settings = current_settings(session)
    if settings is not None and settings.supervisor_email:
        return [("Supervisor", settings.supervisor_email)]
    admins = session.scalars(
        select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    )
    return [(admin.name, admin.email) for admin in admins]


def _open_enquiries(session: Session, *conditions: Any) -> list[Enquiry]:
    """Unresolved enquiries matching ``conditions``, locked (a second worker skips them)."""
    return list(
        session.scalars(
            select(Enquiry)
            .where(Enquiry.status != EnquiryStatus.RESOLVED, *conditions)
            .options(
                selectinload(Enquiry.customer),
                selectinload(Enquiry.owner),
                selectinload(Enquiry.line).selectinload(Line.salesperson),
            )
            .order_by(Enquiry.sla_deadline)
            .with_for_update(skip_locked=True)
        ).all()
    )


def _org_zone(session: Session, default_timezone: str) -> ZoneInfo:
    settings = current_settings(session)
    return ZoneInfo((settings.timezone if settings else None) or default_timezone)


def _enquiry_context(enquiry: Enquiry, zone: ZoneInfo) -> dict[str, Any]:
    """What every alert about a missed enquiry says of it: who called, on whose line, when."""
    return {
        "enquiry": enquiry,
        "caller": (
            enquiry.customer.name
            if enquiry.customer
            else format_phone(enquiry.caller_number) or "Withheld number"
        ),
        "line_name": (
            f"{enquiry.line.salesperson.name}'s line" if enquiry.line else "Unknown line"
        ),
        "received": f"{enquiry.created_at.astimezone(zone):%d %b %H:%M}",
        "deadline": f"{enquiry.sla_deadline.astimezone(zone):%d %b %H:%M} ({zone.key})",
    }


def alert_breached_enquiries(
    session: Session,
    *,
    now: datetime,
    console_url: str = "http://127.0.0.1:5000",
    default_timezone: str = "UTC",
) -> int:
    """Queue one alert per unresolved enquiry past its deadline; returns how many enquiries.

    Adds to the caller's transaction; the caller commits.
    """
    breached = _open_enquiries(
        session, Enquiry.sla_deadline < now, Enquiry.sla_breach_alerted_at.is_(None)
    )
    if not breached:
        return 0
    recipients = supervisors(session)
    zone = _org_zone(session, default_timezone)
    queue_url = f"{console_url.rstrip('/')}/enquiries"
    for enquiry in breached:
        overdue = max(1, int((now - enquiry.sla_deadline).total_seconds() // 60))
        emails.send_enquiry_alerts(
            session,
            "sla-breach",
            enquiry.id,
            recipients,
            **_enquiry_context(enquiry, zone),
            overdue_minutes=overdue,
            owner_name=enquiry.owner.name if enquiry.owner else "nobody has claimed it",
            queue_url=queue_url,
            now=now,
        )
        enquiry.sla_breach_alerted_at = now
    session.flush()
    return len(breached)


def _run_periodic(runtime: Any, check: Any, what: str) -> int:
    """One worker job's session, clock and settings for ``check``; commits once."""
    config = runtime.config
    with runtime.db.Session() as session:
        count = check(
            session,
            now=runtime.clock(),
            console_url=getattr(config, "PUBLIC_BASE_URL", None) or "http://127.0.0.1:5000",
            default_timezone=getattr(config, "TIMEZONE", None) or "UTC",
        )
        session.commit()
    if count:
        log.info("%s queued for %d enquiries", what, count)
    return count


def run_sla_check(runtime: Any) -> int:
    """Periodic worker job (see ``notifications.worker.PERIODIC_JOBS``): alert on breaches."""
    return _run_periodic(runtime, alert_breached_enquiries, "SLA breach alerts")


WARNING_SHARE = 0.8  # warn when this share of an enquiry's SLA has gone by


def warning_time(enquiry: Enquiry) -> datetime:
    """When 80 % of the enquiry's SLA (from its arrival to its deadline) has gone by."""
    return enquiry.created_at + (enquiry.sla_deadline - enquiry.created_at) * WARNING_SHARE


def _warning_recipients(session: Session, enquiry: Enquiry) -> list[tuple[str, str]]:
    """Its owner; unclaimed (or owned by someone who left): every active coordinator."""
    owner = enquiry.owner
    if owner is not None and owner.active and owner.email:
        return [(owner.name, owner.email)]
    team = session.scalars(
        select(User).where(User.role == Role.COORDINATOR, User.active.is_(True)).order_by(User.id)
    )
    return [(user.name, user.email) for user in team if user.email]


def warn_enquiries_nearing_sla(
    session: Session,
    *,
    now: datetime,
    console_url: str = "http://127.0.0.1:5000",
    default_timezone: str = "UTC",
) -> int:
    """Queue one warning per unresolved enquiry at 80 % of its SLA; returns how many.

    Only before the deadline (after it, the breach alert speaks); once per enquiry
    (``sla_warning_sent_at`` and the outbox key). Adds to the caller's transaction.
    """
    candidates = _open_enquiries(
        session, Enquiry.sla_deadline > now, Enquiry.sla_warning_sent_at.is_(None)
    )
    due = [enquiry for enquiry in candidates if warning_time(enquiry) <= now]
    if not due:
        return 0
    zone = _org_zone(session, default_timezone)
    for enquiry in due:
        minutes_left = max(1, int((enquiry.sla_deadline - now).total_seconds() // 60))
        emails.send_enquiry_alerts(
            session,
            "sla-warning",
            enquiry.id,
            _warning_recipients(session, enquiry),
            **_enquiry_context(enquiry, zone),
            minutes_left=minutes_left,
            claimed=enquiry.owner is not None,
            enquiry_url=f"{console_url.rstrip('/')}/enquiries/{enquiry.id}",
            now=now,
        )
        enquiry.sla_warning_sent_at = now
    session.flush()
    return len(due)


def run_sla_warning_check(runtime: Any) -> int:
    """Periodic worker job: warn owners (or the team) before missed enquiries breach."""
    return _run_periodic(runtime, warn_enquiries_nearing_sla, "SLA warnings")
