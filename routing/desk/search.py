"""Find a customer or job by name, phone, email, company or job reference."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from models import Customer, Job
from models.contact import try_normalise_phone


@dataclass
class SearchResults:
    query: str
    customers: list[Customer] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.customers and not self.jobs


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search(session: Session, query: str, *, region: str = "US", limit: int = 25) -> SearchResults:
    """Customers and jobs matching ``query``; phone numbers match in any common format."""
    text = " ".join(query.split())
    results = SearchResults(query=text)
    if len(text) < 2:
        return results
    pattern = _like(text)
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 4 and re.fullmatch(r"[\d\s()+.\-]+", text):
        # A phone number: a whole one is an indexed lookup; a fragment matches anywhere.
        phone = try_normalise_phone(text, region)
        conditions = [Customer.phone == phone] if phone else [Customer.phone.like(f"%{digits}%")]
    else:
        conditions = [
            func.lower(Customer.name).like(pattern, escape="\\"),
            func.lower(Customer.email).like(pattern, escape="\\"),
            func.lower(Customer.company).like(pattern, escape="\\"),
        ]
    results.customers = list(
        session.scalars(
            select(Customer)
            .where(or_(*conditions))
            .options(selectinload(Customer.salesperson))
            .order_by(Customer.name, Customer.id)
            .limit(limit)
        )
    )
    results.jobs = list(
        session.scalars(
            select(Job)
            .where(
                or_(
                    func.lower(Job.reference).like(pattern, escape="\\"),
                    Job.customer_id.in_([c.id for c in results.customers]),
                )
            )
            .options(selectinload(Job.customer), selectinload(Job.account_manager))
            .order_by(Job.reference)
            .limit(limit)
        )
    )
    return results
