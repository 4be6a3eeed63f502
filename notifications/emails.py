"""Every email is built here: one function per kind, one helper that renders and queues.

As in Warehouse's ``warehouse/email``, a kind's function only says what its email says:
it returns an :class:`Email` (recipient, template kind, idempotency key, template
context), and the :func:`sends` decorator turns it into ``send_<kind>(session, …, now=…)``,
which renders the kind's template triplet (``notifications/templates/<kind>/``) and writes
the email to the outbox, once per idempotency key, in the caller's transaction. The web
package asks for an email of a kind (``send_appointment_invitations(session, appointment,
…)``); it never renders a template or writes to the outbox itself. ``send_<kind>.build``
gives the emails without queueing them, and :meth:`Email.rendered_values` the subject and
bodies, for a pending row rewritten in place. The job emails' kinds live with the jobs
(``notifications.jobs.emails``) and are queued through :func:`queue` too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from models import (
    Appointment,
    BookingStatus,
    Customer,
    Job,
    OutboundEmail,
    Salesperson,
    Teleconference,
    User,
)

from .outbox import enqueue_email
from .templates import RenderedEmail, render_email


@dataclass(frozen=True)
class Email:
    """One email of a kind to one recipient, before it is rendered."""

    kind: str
    key: str  # the outbox's idempotency key: one email per key, ever
    to_email: str
    to_name: str | None
    context: Mapping[str, Any] = field(default_factory=dict)  # the templates' variables
    from_name: str | None = None
    reply_to: str | None = None
    attachments: Sequence[dict[str, Any]] = ()
    job_id: int | None = None
    send_at: datetime | None = None
    stored: Mapping[str, Any] | None = None  # what the outbox row keeps (its ``context``)

    def rendered(self) -> RenderedEmail:
        """The kind's subject, text and HTML bodies; the recipient's name is always known."""
        return render_email(self.kind, **{"recipient_name": self.to_name, **self.context})

    def rendered_values(self) -> dict[str, str]:
        """The rendered email as outbox row values (to rewrite a pending row)."""
        rendered = self.rendered()
        return {
            "subject": rendered.subject,
            "text_body": rendered.text_body,
            "html_body": rendered.html_body,
        }


def queue(session: Any, emails: Email | Iterable[Email], *, now: datetime) -> list[OutboundEmail]:
    """Render each email and add it to the outbox (see ``enqueue_email``); the rows, in order.

    ``now`` is the use case's clock: an email is due then unless its ``send_at`` says later.
    """
    batch = [emails] if isinstance(emails, Email) else list(emails)
    return [_queue_one(session, email, now) for email in batch]


def _queue_one(session: Any, email: Email, now: datetime) -> OutboundEmail:
    rendered = email.rendered()
    return enqueue_email(
        session,
        now=now,
        kind=email.kind,
        idempotency_key=email.key,
        to_email=email.to_email,
        to_name=email.to_name,
        from_name=email.from_name,
        reply_to=email.reply_to,
        subject=rendered.subject,
        text_body=rendered.text_body,
        html_body=rendered.html_body,
        attachments=email.attachments,
        job_id=email.job_id,
        send_at=email.send_at,
        context=dict(email.stored) if email.stored is not None else None,
    )


class Sender(Protocol):
    """``send_<kind>``: queue the kind's emails; ``build`` gives them without queueing."""

    build: Callable[..., Email | Iterable[Email]]

    def __call__(
        self, session: Any, *args: Any, now: datetime, **kwargs: Any
    ) -> list[OutboundEmail]: ...


def sends(build: Callable[..., Email | Iterable[Email]]) -> Sender:
    """Decorator: the wrapped function returns its kind's emails; calling it queues them."""

    @functools.wraps(build)
    def send(session: Any, *args: Any, now: datetime, **kwargs: Any) -> list[OutboundEmail]:
        return queue(session, build(*args, **kwargs), now=now)

    send.build = build  # type: ignore[attr-defined]
    return send  # type: ignore[return-value]


# Bookings: invitations, updates and cancellations (same calendar event), reminders.


@sends
def send_appointment_invitations(
    appointment: Appointment,
    recipients: Sequence[tuple[str, str]],
    *,
    when: str,
    old_when: str | None,
    attachment: dict[str, Any],
) -> list[Email]:
    """The invite (sequence 0), or the update or cancellation, to each (name, email)."""
    salesperson = appointment.salesperson
    first = appointment.sequence == 0
    kind = "appointment-invite" if first else "appointment-update"
    return [
        Email(
            kind=kind,
            key=(
                f"appointment-invite:{appointment.id}:{email}"
                if first
                else f"appointment-update:{appointment.id}:{appointment.sequence}:{email}"
            ),
            to_email=email,
            to_name=name,
            context={
                "customer": appointment.customer,
                "salesperson": salesperson,
                "appointment": appointment,
                "when": when,
                "old_when": old_when or when,
                "place": appointment.place or "",
                "cancelled": appointment.status is BookingStatus.CANCELLED,
                "reason": appointment.cancel_reason or "",
                "for_salesperson": email == salesperson.email,
            },
            from_name=salesperson.name,
            reply_to=salesperson.email if email != salesperson.email else None,
            attachments=[attachment],
        )
        for name, email in recipients
    ]


@sends
def send_teleconference_invitations(
    conference: Teleconference,
    *,
    dial_in: str,
    when: str,
    old_when: str | None,
    attachment: dict[str, Any],
) -> list[Email]:
    """The invite, update or cancellation to every participant."""
    everyone = [(p.name, p.email) for p in conference.participants]
    first = conference.sequence == 0
    kind = "teleconference-invite" if first else "teleconference-update"
    return [
        Email(
            kind=kind,
            key=(
                f"teleconference-invite:{conference.id}:{email.lower()}"
                if first
                else f"teleconference-update:{conference.id}:{conference.sequence}:{email.lower()}"
            ),
            to_email=email,
            to_name=name,
            context={
                "conference": conference,
                "title": conference.title,
                "dial_in": dial_in,
                "pin": conference.pin,
                "when": when,
                "old_when": old_when or when,
                "cancelled": conference.status is BookingStatus.CANCELLED,
                "reason": conference.cancel_reason or "",
                "participants": everyone,
            },
            attachments=[attachment],
        )
        for name, email in everyone
    ]


@sends
def send_booking_reminder(
    booking: Appointment | Teleconference,
    *,
    to: tuple[str, str],
    when: str,
    change_url: str,
    dial_in: str = "",
    send_at: datetime,
    stored: Mapping[str, Any],
) -> Email:
    """The customer's reminder of an appointment or a teleconference, due at ``send_at``."""
    context: dict[str, Any] = {"when": when, "change_url": change_url}
    if isinstance(booking, Appointment):
        kind = "appointment-reminder"
        context |= {"salesperson": booking.salesperson, "place": booking.place or ""}
    else:
        kind = "teleconference-reminder"
        context |= {"title": booking.title, "dial_in": dial_in, "pin": booking.pin}
    salesperson = booking.salesperson
    return Email(
        kind=kind,
        key=f"{kind}:{booking.id}:{booking.sequence}",
        to_email=to[1],
        to_name=to[0],
        context=context,
        from_name=salesperson.name if salesperson else None,
        reply_to=salesperson.email if salesperson else None,
        send_at=send_at,
        stored=stored,
    )


# Calls and enquiries: the refund escalation, missed-enquiry alerts, the daily digest.


@sends
def send_refund_escalations(
    recipients: Sequence[tuple[str, str]],
    *,
    task_id: int,
    customer: Customer,
    job: Job | None,
    reason: str,
    salesperson_name: str,
    coordinator: User,
    when: str,
    task_owner_name: str,
    task_url: str,
) -> list[Email]:
    """A refund or cancellation request: the salesperson and the account manager hear."""
    return [
        Email(
            kind="refund-escalation",
            key=f"refund-escalation:{task_id}:{email}",
            to_email=email,
            to_name=name,
            context={
                "customer": customer,
                "job": job,
                "reason": reason,
                "salesperson_name": salesperson_name,
                "coordinator_name": coordinator.name,
                "when": when,
                "task_owner_name": task_owner_name,
                "task_url": task_url,
            },
            reply_to=coordinator.email,
            job_id=job.id if job else None,
        )
        for name, email in recipients
    ]


@sends
def send_enquiry_alerts(
    kind: str, enquiry_id: int, recipients: Sequence[tuple[str, str]], **context: Any
) -> list[Email]:
    """An "sla-warning" or "sla-breach" about one enquiry, once per recipient."""
    return [
        Email(
            kind=kind,
            key=f"{kind}:{enquiry_id}:{email.lower()}",
            to_email=email,
            to_name=name,
            context=context,
        )
        for name, email in recipients
    ]


@sends
def send_salesperson_digest(
    salesperson: Salesperson, day: str, key_day: str, **context: Any
) -> Email:
    """The salesperson's daily digest of a local day (``key_day`` in ISO form)."""
    return Email(
        kind="salesperson-digest",
        key=f"digest:{salesperson.id}:{key_day}",
        to_email=salesperson.email,
        to_name=salesperson.name,
        context={"salesperson_name": salesperson.name, "day": day, **context},
    )
