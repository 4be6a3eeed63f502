"""How an admin change is made: who makes it, the audit entry, the clean name, the diff.

Shared by the directory services (admin.py) and the user services (users.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy.orm import Session

from models import Role
from models.audit import record
from routing.errors import NotFound, ValidationFailed


class InvalidField(ValidationFailed):
    """A value a person typed is unusable; ``field`` names the form field or option."""

    def __init__(self, field: str, message: str):
        super().__init__(message, {"field": field})
        self.field = field


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit log names them."""

    label: str
    user_id: int | None = None


def audit(
    session: Session,
    actor: Actor,
    entity_type: str,
    entity_id: int,
    action: str,
    details: dict[str, Any],
) -> None:
    record(
        session,
        actor=actor.label,
        actor_user_id=actor.user_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        details=details,
    )


def clean_name(raw: str | None, field: str = "name") -> str:
    value = " ".join((raw or "").split())
    if not value:
        raise InvalidField(field, "is required")
    if len(value) > 200:
        raise InvalidField(field, "is longer than 200 characters")
    return value


def apply_changes(obj: Any, wanted: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply ``wanted`` to ``obj``; the audit trail of what really changed (old, new)."""
    changed: dict[str, list[Any]] = {}
    for key, value in wanted.items():
        old = getattr(obj, key)
        if old != value:
            changed[key] = [plain(old), plain(value)]
            setattr(obj, key, value)
    return changed


def plain(value: Any) -> Any:
    if isinstance(value, time | date):
        return value.isoformat()
    if isinstance(value, Role):
        return value.value
    return value


def get_row(session: Session, model: type, ident: int, what: str) -> Any:
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(f"no {what} #{ident}")
    return obj
