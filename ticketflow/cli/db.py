"""``ticketflow db`` (the schema) and ``ticketflow seed`` (sample data)."""

from __future__ import annotations

import click

from ticketflow.cli.errors import friendly_errors


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version, and add reference data."""
    from core.db import get_engine, session_scope
    from core.migrate import upgrade
    from desk.demo import seed_reference_data

    upgrade(get_engine())
    with session_scope() as session:
        seed_reference_data(session)
    click.echo("database is up to date")


@db.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    from core.db import get_engine
    from core.migrate import current_revision

    click.echo(current_revision(get_engine()) or "empty (never migrated)")


# --- data ------------------------------------------------------------------------------


@click.group()
def seed() -> None:
    """Sample data."""


@seed.command("demo")
@friendly_errors
def seed_demo_command() -> None:
    """Load the demo help desk and sports club (safe to run twice)."""
    from core.db import session_scope
    from desk.demo import seed_demo
    from engine.demo import seed_processes
    from mail.demo import seed_auto_responses

    with session_scope() as session:
        seed_demo(session)
        seed_auto_responses(session)
        started = seed_processes(session)
    click.echo(f"demo data is loaded ({started} processes started)")
