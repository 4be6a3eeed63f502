"""Users who log in: create them, set their password, change their role or deactivate them.

The functions only flush; the admin page or CLI command that calls one commits. The admin
pages call one use case per action (``add_user``, ``edit_user``, ``reset_password`` …).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Job, Role, Salesperson, User
from models.audit import record
from models.contact import InvalidContact, normalise_email, normalise_phone
from notifications.jobs import JobSettings, assign_waiting_jobs, manager_details_changed
from routing.errors import Conflict, NotFound
from routing.security import hash_password

from .changes import Actor, InvalidField, apply_changes, audit, clean_name, get_row

__all__ = ["InvalidField"]  # re-exported: the admin pages and tests use it here

MIN_PASSWORD_LENGTH = 8
MAX_CAPACITY = 10_000


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


# --- users -------------------------------------------------------------------------------


def update_user(
    session: Session,
    actor: Actor,
    *,
    user_id: int,
    name: str,
    email: str | None = None,
    phone: str | None,
    role: str | Role,
    capacity: int | str | None,
    available: bool,
    active: bool,
    region: str = "US",
) -> User:
    """Change a user's name, login email, phone, role, availability, capacity or whether
    they may log in.

    ``email`` None keeps the address; a new one is normalised and checked as when adding a
    user. Sessions hold the user's id, so the user stays logged in when it changes.
    """
    user = get_row(session, User, user_id, "user")
    new_role = parse_role(role) if isinstance(role, str) else role
    wanted: dict[str, Any] = {"name": clean_name(name)}
    if email is not None:
        wanted["email"] = clean_email(email)
        check_email_free(session, wanted["email"], user.id)
    wanted |= {
        "phone": clean_phone(phone, region),
        "role": new_role,
        "capacity": clean_capacity(capacity),
        "available": bool(available),
        "active": bool(active),
    }
    if new_role is Role.COORDINATOR and wanted["phone"] is None:
        raise InvalidField("phone", "a coordinator needs a phone number to ring")
    if new_role is not user.role and Role.SALESPERSON in (new_role, user.role):
        # A salesperson's login sees only her own calendar: it is never turned into a
        # staff login, nor a staff login into hers.
        raise InvalidField("role", "a salesperson's login cannot change role, nor get that role")
    if actor.user_id == user.id and (new_role is not Role.ADMIN or not wanted["active"]):
        raise InvalidField("role", "you cannot remove your own admin access")
    if user.role is Role.ADMIN and (new_role is not Role.ADMIN or not wanted["active"]):
        _keep_one_admin(session, user)
    changed = apply_changes(user, wanted)
    if "active" in changed and not user.active:
        user.end_sessions()
    session.flush()
    if changed:
        audit(session, actor, "user", user.id, "update", changed)
    return user


def set_user_active(session: Session, actor: Actor, *, user_id: int, active: bool) -> User:
    """Deactivate a user (they can no longer log in, and are not rung) or reactivate them."""
    user = get_row(session, User, user_id, "user")
    if not active and actor.user_id == user.id:
        raise Conflict("you cannot deactivate yourself")
    if not active and user.role is Role.ADMIN:
        _keep_one_admin(session, user)
    if user.active != active:
        user.active = active
        if not active:
            user.end_sessions()  # reactivating her later must not revive an old cookie
        session.flush()
        audit(session, actor, "user", user.id, "activate" if active else "deactivate", {})
    return user


def set_availability(session: Session, actor: Actor, *, user_id: int, available: bool) -> User:
    """Whether a coordinator's phone rings for incoming calls."""
    user = get_row(session, User, user_id, "user")
    if user.available != available:
        user.available = available
        session.flush()
        audit(session, actor, "user", user.id, "availability", {"available": available})
    return user


def _keep_one_admin(session: Session, leaving: User) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != leaving.id)
    )
    if not others:
        raise Conflict("the organisation needs at least one active admin")


# --- use cases the admin pages call, one per action --------------------------------------


def _same_passwords(password: str | None, again: str | None) -> None:
    if (password or None) != (again or None):
        raise InvalidField("password_again", "the two passwords differ")


def give_salesperson_login(
    session: Session,
    actor: Actor,
    *,
    salesperson_id: int,
    password: str,
    password_again: str,
    region: str = "US",
) -> Salesperson:
    """A console login for a salesperson (her calendar and availability only)."""
    person = get_row(session, Salesperson, salesperson_id, "salesperson")
    _same_passwords(password, password_again)
    if not password:
        raise InvalidField("password", "a login needs a password")
    create_user(
        session,
        email=person.email,
        role=Role.SALESPERSON,
        name=person.name,
        password=password,
        region=region,
        actor=actor.label,
        actor_user_id=actor.user_id,
    )
    return person


@dataclass(frozen=True)
class UserSaved:
    """A saved user, and the waiting jobs that the change let account managers take."""

    user: User
    assigned_jobs: list[Job]


def _give_room_to_waiting_jobs(
    session: Session, actor: Actor, user: User, job_settings: JobSettings, now: datetime
) -> UserSaved:
    """After a change that may give an account manager room: assign jobs left waiting."""
    assigned = assign_waiting_jobs(session, actor=actor.label, settings=job_settings, now=now)
    return UserSaved(user, assigned)


def add_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    role: str,
    name: str | None,
    phone: str | None,
    capacity: str | None,
    password: str | None,
    password_again: str | None,
    region: str = "US",
    job_settings: JobSettings,
    now: datetime,
) -> UserSaved:
    """Create a user; without a password they cannot log in until one is set."""
    _same_passwords(password, password_again)
    user = create_user(
        session,
        email=email,
        role=role,
        name=name,
        phone=phone,
        capacity=capacity,
        password=password or None,
        region=region,
        actor=actor.label,
        actor_user_id=actor.user_id,
    )
    return _give_room_to_waiting_jobs(session, actor, user, job_settings, now)


def edit_user(
    session: Session,
    actor: Actor,
    *,
    user_id: int,
    name: str,
    email: str | None,
    phone: str | None,
    role: str,
    capacity: str | None,
    available: bool,
    active: bool,
    region: str = "US",
    job_settings: JobSettings,
    now: datetime,
) -> UserSaved:
    """Save a user's details, role, availability and capacity; emails not yet sent carry
    an account manager's new details, and jobs left waiting go to whoever now has room."""
    before = get_row(session, User, user_id, "user")
    was = (before.name, before.email, before.phone)
    saved = update_user(
        session,
        actor,
        user_id=user_id,
        name=name,
        email=email,
        phone=phone,
        role=role,
        capacity=capacity,
        available=available,
        active=active,
        region=region,
    )
    if (saved.name, saved.email, saved.phone) != was:
        manager_details_changed(session, saved, old_email=was[1], settings=job_settings)
    return _give_room_to_waiting_jobs(session, actor, saved, job_settings, now)


def change_user_active(
    session: Session,
    actor: Actor,
    *,
    user_id: int,
    active: bool,
    job_settings: JobSettings,
    now: datetime,
) -> UserSaved:
    """Deactivate or reactivate a user; a returning account manager takes waiting jobs."""
    saved = set_user_active(session, actor, user_id=user_id, active=active)
    return _give_room_to_waiting_jobs(session, actor, saved, job_settings, now)


def reset_password(
    session: Session, actor: Actor, *, user_id: int, password: str, password_again: str
) -> User:
    """Set a new login password for a user; every session of hers ends."""
    user = get_row(session, User, user_id, "user")
    _same_passwords(password, password_again)
    return set_password(
        session,
        email=user.email,
        password=password,
        actor=actor.label,
        actor_user_id=actor.user_id,
    )
