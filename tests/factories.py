"""Factories: build realistic rows with one call, overriding only what a test cares about."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from models import (
    BusinessHours,
    Call,
    Customer,
    Enquiry,
    EnquiryKind,
    Line,
    Role,
    Salesperson,
    User,
    utcnow,
)
from routing.security import hash_password

_seq = itertools.count(1)

DEFAULT_PASSWORD = "correct horse battery"


def make_user(
    session: Session,
    *,
    role: Role = Role.COORDINATOR,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    password: str | None = DEFAULT_PASSWORD,
    **fields: object,
) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.com",
        name=name or f"User {n}",
        phone=phone if phone is not None else f"+1415555{n:04d}",
        role=role,
        password_hash=hash_password(password) if password else None,
        **fields,
    )
    session.add(user)
    session.flush()
    return user


def make_salesperson(
    session: Session,
    *,
    name: str | None = None,
    email: str | None = None,
    public_number: str | None = None,
    twilio_number: str | None = None,
) -> Salesperson:
    n = next(_seq)
    person = Salesperson(name=name or f"Salesperson {n}", email=email or f"sales{n}@example.com")
    person.lines.append(
        Line(
            public_number=public_number or f"+1312555{n:04d}",
            twilio_number=twilio_number or f"+1646555{n:04d}",
        )
    )
    session.add(person)
    session.flush()
    return person


def make_customer(
    session: Session,
    *,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    company: str | None = None,
    salesperson: Salesperson | None = None,
) -> Customer:
    n = next(_seq)
    customer = Customer(
        name=name or f"Customer {n}",
        phone=phone or f"+1202555{n:04d}",
        email=email or f"customer{n}@example.com",
        company=company,
        salesperson_id=salesperson.id if salesperson else None,
    )
    session.add(customer)
    session.flush()
    return customer


def make_business_hours(
    session: Session, opens: time = time(8, 0), closes: time = time(18, 0), days: int = 5
) -> None:
    for weekday in range(days):
        session.add(BusinessHours(weekday=weekday, opens_at=opens, closes_at=closes))
    session.flush()


def make_call(
    session: Session,
    *,
    line: Line | None = None,
    customer: Customer | None = None,
    answered_by: User | None = None,
    caller_number: str | None = None,
    status: str = "in-progress",
    **fields: object,
) -> Call:
    """A call on ``line``; with ``answered_by`` it is answered and in progress."""
    n = next(_seq)
    number = caller_number or (customer.phone if customer else f"+1202666{n:04d}")
    call = Call(
        call_sid=f"CA{n:032x}",
        line_id=line.id if line else None,
        to_number=line.twilio_number if line else "+16465550000",
        from_number=number,
        caller_number=number,
        customer_id=customer.id if customer else None,
        status=status,
        answered_by_id=answered_by.id if answered_by else None,
        answered_at=utcnow() if answered_by else None,
        **{"result": "answered" if answered_by else "ringing", **fields},
    )
    session.add(call)
    session.flush()
    return call


def make_enquiry(
    session: Session,
    *,
    call: Call | None = None,
    customer: Customer | None = None,
    line: Line | None = None,
    kind: EnquiryKind = EnquiryKind.MISSED,
    sla_deadline: datetime | None = None,
    **fields: object,
) -> Enquiry:
    """An open enquiry (a missed call), due in 15 minutes unless told otherwise."""
    enquiry = Enquiry(
        call_id=call.id if call else None,
        customer_id=customer.id if customer else (call.customer_id if call else None),
        line_id=line.id if line else (call.line_id if call else None),
        caller_number=call.caller_number if call else (customer.phone if customer else None),
        kind=kind,
        sla_deadline=sla_deadline or utcnow() + timedelta(minutes=15),
        **fields,
    )
    session.add(enquiry)
    session.flush()
    return enquiry
