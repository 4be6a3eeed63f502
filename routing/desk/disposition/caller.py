"""Caller resolution: the customer a call is about, found, updated or created as a lead."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Customer, Line, Salesperson, User, audit

from .types import SALES_OUTCOMES, Disposition


def _find_customer(session: Session, phone: str | None, email: str | None) -> Customer | None:
    conditions = []
    if phone:
        conditions.append(Customer.phone == phone)
    if email:
        conditions.append(Customer.email == email)
    if not conditions:
        return None
    return session.scalars(
        select(Customer).where(or_(*conditions)).order_by(Customer.is_lead, Customer.id)
    ).first()


def resolve_caller(
    session: Session,
    disposition: Disposition,
    *,
    known: Customer | None,
    line: Line | None,
    actor: User,
) -> Customer | None:
    """The customer this call is about: the one Twilio's caller ID matched, one found by
    the details the coordinator typed, or a new lead owned by the line's salesperson."""
    if disposition.caller_declined or disposition.outcome not in SALES_OUTCOMES:
        return known
    customer = known or _find_customer(session, disposition.caller_phone, disposition.caller_email)
    if customer is None:
        customer = Customer(
            name=disposition.caller_name,
            phone=disposition.caller_phone,
            email=disposition.caller_email,
            salesperson_id=line.salesperson_id if line else None,
            is_lead=True,
        )
        session.add(customer)
        session.flush()
        audit.record(
            session,
            actor=actor.email,
            actor_user_id=actor.id,
            entity_type="customer",
            entity_id=customer.id,
            action="lead_created",
            details={"salesperson_id": customer.salesperson_id},
        )
        return customer
    changes = {}
    if disposition.caller_name and disposition.caller_name != customer.name:
        changes["name"] = [customer.name, disposition.caller_name]
        customer.name = disposition.caller_name
    if disposition.caller_email and disposition.caller_email != customer.email:
        changes["email"] = [customer.email, disposition.caller_email]
        customer.email = disposition.caller_email
        customer.email_undeliverable = False
    if not customer.phone and disposition.caller_phone:
        changes["phone"] = [None, disposition.caller_phone]
        customer.phone = disposition.caller_phone
    if customer.salesperson_id is None and line is not None:
        customer.salesperson_id = line.salesperson_id
    if changes:
        audit.record(
            session,
            actor=actor.email,
            actor_user_id=actor.id,
            entity_type="customer",
            entity_id=customer.id,
            action="details_updated",
            details=changes,
        )
    return customer


def salesperson_for(session: Session, line: Line | None, customer: Customer | None):
    if line is not None:
        return session.get(Salesperson, line.salesperson_id)
    if customer is not None and customer.salesperson_id:
        return session.get(Salesperson, customer.salesperson_id)
    return None
