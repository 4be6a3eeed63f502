"""``switchboard user …`` and ``switchboard token …``: logins and API tokens."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from routing.clock import app_now
from routing.database import get_db
from routing.errors import SwitchboardError
from routing.setup.users import create_user, parse_role, set_password, user_by_email
from routing.tokens import create_token, list_tokens, revoke_token

ROLE_CHOICES = ("coordinator", "account_manager", "admin")


def _prompt_password() -> str:
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def user() -> None:
    """Create console users and set passwords."""


@user.command("create")
@click.option("--email", required=True, help="Login email (unique).")
@click.option(
    "--role",
    required=True,
    metavar="|".join(ROLE_CHOICES),
    help="coordinator, account_manager, admin, or salesperson (her own calendar and "
    "availability only; the email must be a salesperson's).",
)
@click.option("--name", help="Full name (default: from the email).")
@click.option("--phone", help="Phone number (required for coordinators: it rings).")
@click.option("--capacity", type=int, help="Account managers: how many open jobs they carry.")
@click.option("--password", help="Login password (prompted with confirmation when omitted).")
@with_appcontext
def create_user_command(
    email: str,
    role: str,
    name: str | None,
    phone: str | None,
    capacity: int | None,
    password: str | None,
) -> None:
    """Create a user who can log in to the console."""
    try:
        parsed_role = parse_role(role)
    except SwitchboardError as exc:
        raise click.BadParameter(exc.message, param_hint="--role") from None
    # Check everything but the password first, so nobody types one in vain.
    session = get_db().Session()
    try:
        create_user(
            session,
            email=email,
            role=parsed_role,
            name=name,
            phone=phone,
            capacity=capacity,
            password=None,
            region=current_app.config["DEFAULT_REGION"],
        )
    except SwitchboardError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        session.rollback()
        session.close()
    password = password if password is not None else _prompt_password()
    try:
        with get_db().session() as session:
            created = create_user(
                session,
                email=email,
                role=parsed_role,
                name=name,
                phone=phone,
                capacity=capacity,
                password=password,
                region=current_app.config["DEFAULT_REGION"],
            )
            summary = f"{created.name} <{created.email}>, {created.role.value}"
    except SwitchboardError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created user {summary}.")


@user.command("password")
@click.option("--email", required=True, help="The user's login email.")
@click.option("--password", help="The new password (prompted with confirmation when omitted).")
@with_appcontext
def password_command(email: str, password: str | None) -> None:
    """Set or reset the login password of any user (also imported ones)."""
    session = get_db().Session()
    try:
        if user_by_email(session, email) is None:
            raise click.ClickException(f"no user has the email {email.strip()}")
    finally:
        session.close()
    password = password if password is not None else _prompt_password()
    try:
        with get_db().session() as session:
            changed = set_password(session, email=email, password=password)
            who = changed.email
    except SwitchboardError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Password set for {who}.")


@click.group()
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command("create")
@click.argument("name")
@with_appcontext
def create_token_command(name: str) -> None:
    """Create an API token called NAME and print it (it is shown only this once)."""
    try:
        with get_db().session() as session:
            raw = create_token(session, name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"API token {name.strip()!r} created. Copy it now; it is not shown again:")
    click.echo(raw)
    click.echo("Use it as: Authorization: Bearer <token>", err=True)


@token.command("list")
@with_appcontext
def list_tokens_command() -> None:
    """List API tokens (names and use, never the secrets)."""
    session = get_db().Session()
    try:
        found = list_tokens(session)
        if not found:
            click.echo("No API tokens yet. Create one with: switchboard token create NAME")
        for item in found:
            used = f"{item.last_used_at:%Y-%m-%d %H:%M} UTC" if item.last_used_at else "never"
            state = f"revoked {item.revoked_at:%Y-%m-%d}" if item.revoked_at else "live"
            click.echo(f"{item.id:>4}  {item.name:<30}  last used {used:<20}  {state}")
    finally:
        session.close()


@token.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke the API token with ID (see `switchboard token list`)."""
    with get_db().session() as session:
        found = revoke_token(session, token_id, now=app_now())
        if found is None:
            raise click.ClickException(f"no API token has the id {token_id}")
        name = found.name
    click.echo(f"API token {name!r} revoked; requests carrying it now get 401.")
