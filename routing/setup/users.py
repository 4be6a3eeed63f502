"""Users who log in: create them, set their password, change their role or deactivate them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Role, Salesperson, User
from models.audit import record
from models.contact import InvalidContact, normalise_email, normalise_phone
from routing.errors import Conflict, NotFound, ValidationFailed
from routing.security import hash_password

MIN_PASSWORD_LENGTH = 8
MAX_CAPACITY = 10_000


class InvalidField(ValidationFailed):
    """A value a person typed is unusable; ``field`` names the form field or option."""

    def __init__(self, field: str, message: str):
        super().__init__(message, {"field": field})
        self.field = field


def parse_role(raw: str) -> Role:
    """The role named ``raw`` (``account-manager`` and ``account_manager`` both work)."""
    value = (raw or "").strip().lower().replace("-", "_")
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidField("role", f"unknown role {raw!r}; choose one of {choices}") from None


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidField(
            "password", f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        )
    return password


def clean_email(raw: str, field: str = "email") -> str:
    try:
        return normalise_email(raw)
    except InvalidContact as exc:
        raise InvalidField(field, str(exc)) from None


def clean_phone(raw: str | None, region: str, field: str = "phone") -> str | None:
    """E.164 of ``raw``; None when blank."""
    if not (raw or "").strip():
        return None
    try:
        return normalise_phone(raw, region)
    except InvalidContact as exc:
        raise InvalidField(field, str(exc)) from None


def clean_capacity(raw: int | str | None) -> int:
    if raw in (None, ""):
        return 0
    try:
        value = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidField("capacity", "capacity must be a whole number of open jobs") from None
    if not 0 <= value <= MAX_CAPACITY:
        raise InvalidField("capacity", f"capacity must be between 0 and {MAX_CAPACITY}")
    return value


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def check_email_free(session: Session, email: str, user_id: int | None = None) -> None:
    """Refuse (Conflict) an email that another user than ``user_id`` already logs in with."""
    other = user_by_email(session, email)
    if other is not None and other.id != user_id:
        raise Conflict(f"a user with the email {email} already exists", {"field": "email"})


def create_user(
    session: Session,
    *,
    email: str,
    role: Role | str,
    name: str | None = None,
    phone: str | None = None,
    capacity: int | str | None = None,
    password: str | None = None,
    region: str = "US",
    actor: str = "cli",
    actor_user_id: int | None = None,
) -> User:
    """Add a user; an email that already exists is refused (Conflict)."""
    email = clean_email(email)
    role = parse_role(role) if isinstance(role, str) else role
    check_email_free(session, email)
    name = " ".join((name or "").split()) or email.split("@")[0].replace(".", " ").title()
    phone_e164 = clean_phone(phone, region)
    if role is Role.COORDINATOR and phone_e164 is None:
        raise InvalidField("phone", "a coordinator needs a phone number to ring")
    salesperson = None
    if role is Role.SALESPERSON:
        # Her login is tied to her salesperson record, found by the same email.
        salesperson = session.scalar(select(Salesperson).where(Salesperson.email == email))
        if salesperson is None:
            raise InvalidField("email", f"no salesperson has the email {email}: add her first")
    user = User(
        email=email,
        name=name,
        phone=phone_e164,
        role=role,
        capacity=clean_capacity(capacity),
        available=True,
        active=True,
        password_hash=hash_password(check_password(password)) if password else None,
    )
    session.add(user)
    session.flush()
    if salesperson is not None:
        salesperson.user_id = user.id
        session.flush()
    record(
        session,
        actor=actor,
        actor_user_id=actor_user_id,
        entity_type="user",
        entity_id=user.id,
        action="create",
        details={"email": email, "role": role.value},
    )
    return user


def set_password(
    session: Session,
    *,
    email: str,
    password: str,
    actor: str = "cli",
    actor_user_id: int | None = None,
) -> User:
    """Set or reset the login password of the user with ``email``; every session of hers
    ends (PRODUCT.md §4)."""
    user = user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user has the email {email.strip()}", {"field": "email"})
    user.password_hash = hash_password(check_password(password))
    # Whoever knew the old password may hold a session: end them all.
    user.end_sessions()
    record(
        session,
        actor=actor,
        actor_user_id=actor_user_id,
        entity_type="user",
        entity_id=user.id,
        action="set password",
        details={"email": user.email},
    )
    session.flush()
    return user
