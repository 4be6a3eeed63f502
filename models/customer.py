"""Customers and leads: everyone who calls is captured here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import E164, Base, UTCDateTime, e164_check, utcnow
from .organisation import Salesperson


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        e164_check("phone"),
        # The few bounced addresses, found without reading every customer (home page).
        Index(
            "ix_customers_email_undeliverable",
            "id",
            postgresql_where=text("email_undeliverable"),
            sqlite_where=text("email_undeliverable"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Looked up on every incoming call.
    phone: Mapped[str | None] = mapped_column(E164, index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    company: Mapped[str | None] = mapped_column(String(200))
    salesperson_id: Mapped[int | None] = mapped_column(
        ForeignKey("salespeople.id", ondelete="SET NULL"), index=True
    )
    # A caller first captured by a coordinator rather than imported.
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when SendGrid reports a bounce or drop for this address.
    email_undeliverable: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    salesperson: Mapped[Salesperson | None] = relationship()


def trigram_index(name: str, column: Mapped[str] | Mapped[str | None]) -> Index:
    """A PostgreSQL trigram index on ``lower(column)``: the console search's ``LIKE '%…%'``.

    A leading wildcard cannot use a b-tree, so without it every search scans the table.
    The label names the expression for ``postgresql_ops``. SQLite gets no such index (it
    has no trigram operator class) and keeps scanning.
    """
    expression = func.lower(column).label(column.key)
    return Index(
        name,
        expression,
        postgresql_using="gin",
        postgresql_ops={column.key: "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


trigram_index("ix_customers_name_trgm", Customer.name)
trigram_index("ix_customers_email_trgm", Customer.email)
trigram_index("ix_customers_company_trgm", Customer.company)
