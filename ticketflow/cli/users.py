"""``ticketflow user`` (agents, their API tokens) and ``ticketflow customer`` (customer users' tokens)."""

from __future__ import annotations

from datetime import timedelta

import click

from ticketflow.cli.errors import friendly_errors


@click.group()
def user() -> None:
    """Agents and their API tokens."""


@user.command("create")
@click.argument("login")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when not given."
)
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--email", default="")
@click.option("--admin", is_flag=True, help="Give rw on the admin group.")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    metavar="GROUP:PERM[,PERM]",
    help="Group permissions, e.g. --grant raw:rw --grant finance:ro,note",
)
@click.option("--read-only", is_flag=True, help="An observer: reads, never writes.")
@click.option("--no-customer-contact", is_flag=True, help="May not write to customers.")
@friendly_errors
def user_create(
    login: str,
    password: str,
    first_name: str,
    last_name: str,
    email: str,
    admin: bool,
    grants: tuple[str, ...],
    read_only: bool,
    no_customer_contact: bool,
) -> None:
    """Create an agent."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.agent import admin as agent_admin
    from desk.agent import service as agents
    from desk.demo import seed_reference_data

    with session_scope() as session:
        seed_reference_data(session)
        # The same service as the admin page: validated and recorded in the audit trail.
        agent = agent_admin.create(
            session,
            actor=SYSTEM,
            login=login,
            password=password,
            first_name=first_name,
            last_name=last_name,
            email=email,
            read_only=read_only,
            may_contact_customers=not no_customer_contact,
        )
        wanted = [*grants, *(["admin:rw"] if admin else [])]
        for item in wanted:
            group_name, sep, perms = item.partition(":")
            if not sep or not perms:
                raise click.BadParameter(f"{item!r}: use GROUP:PERM[,PERM]", param_hint="--grant")
            group = agents.get_group(session, name=group_name)
            agents.grant_group(session, actor=SYSTEM, agent=agent, group=group, permissions=perms.split(","))
    click.echo(f"agent {login} created")


@user.command("token")
@click.argument("login")
@click.option("--name", default="cli", help="What the token is for.")
@click.option(
    "--expires-days", type=click.IntRange(min=1), default=None, help="Days until it expires (default: never)."
)
@friendly_errors
def user_token(login: str, name: str, expires_days: int | None) -> None:
    """Issue an API token for LOGIN and print it (it is shown only once)."""
    from core.db import session_scope, utcnow
    from desk.actor import SYSTEM
    from desk.agent import service as agents

    with session_scope() as session:
        agent = agents.get_agent(session, login=login)
        expires = utcnow() + timedelta(days=expires_days) if expires_days else None
        token = agents.create_token(session, actor=SYSTEM, agent=agent, name=name, expires_at=expires)
    click.echo(token)


@user.command("sign-out")
@click.argument("login")
@friendly_errors
def user_sign_out(login: str) -> None:
    """End every web session of LOGIN: each browser gets the sign-in page on its next click."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.agent import service as agents

    with session_scope() as session:
        agent = agents.get_agent(session, login=login)
        ended = agents.end_all_sessions(session, actor=SYSTEM, agent=agent)
    click.echo(f"agent {login} signed out everywhere ({ended} session(s) ended)")


def _set_active(logins: tuple[str, ...], *, active: bool) -> None:
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.agent import admin as agent_admin
    from desk.agent import service as agents

    with session_scope() as session:
        ids = [agents.get_agent(session, login=login).id for login in logins]
        results = agent_admin.bulk_set_active(session, actor=SYSTEM, agent_ids=ids, active=active)
    for result in results:
        click.echo(f"{result.login}: {result.outcome}" + (f" ({result.message})" if result.message else ""))


@user.command("deactivate")
@click.argument("logins", nargs=-1, required=True)
@friendly_errors
def user_deactivate(logins: tuple[str, ...]) -> None:
    """Deactivate agents (never deleted: their history stays theirs); signs them out everywhere."""
    _set_active(logins, active=False)


@user.command("activate")
@click.argument("logins", nargs=-1, required=True)
@friendly_errors
def user_activate(logins: tuple[str, ...]) -> None:
    """Let deactivated agents sign in again."""
    _set_active(logins, active=True)


@click.group()
def customer() -> None:
    """Customer users."""


@customer.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="What the token is for.")
@click.option(
    "--expires-days", type=click.IntRange(min=1), default=None, help="Days until it expires (default: never)."
)
@friendly_errors
def customer_token(email: str, name: str, expires_days: int | None) -> None:
    """Issue an API token for the customer user with EMAIL and print it (shown only once)."""
    from core.db import session_scope, utcnow
    from core.errors import NotFound
    from desk.actor import SYSTEM
    from desk.agent import service as agents
    from desk.customer import service as customers

    with session_scope() as session:
        found = customers.find_by_email(session, email=email)
        if found is None:
            raise NotFound(f"no customer user with e-mail {email!r}")
        expires = utcnow() + timedelta(days=expires_days) if expires_days else None
        token = agents.create_customer_token(
            session, actor=SYSTEM, customer=found, name=name, expires_at=expires
        )
    click.echo(token)
