"""Factories: build realistic rows with one call, overriding only what a test cares about."""

from __future__ import annotations

import itertools
from datetime import time

from sqlalchemy.orm import Session

from models import BusinessHours, Customer, Line, Role, Salesperson, User
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
