"""``ticketflow queue``: queues."""

from __future__ import annotations

import click

from ticketflow.cli.errors import friendly_errors


@click.group()
def queue() -> None:
    """Queues."""


@queue.command("create")
@click.argument("name")
@click.option("--group", "group_name", required=True, help="The group that owns the queue.")
@click.option("--address", default=None, help="Mail to this address lands in the queue.")
@click.option(
    "--follow-up",
    type=click.Choice(["reopen", "new_ticket", "reject"]),
    default="reopen",
    help="What a reply to a closed ticket does.",
)
@click.option("--unlock-timeout", type=click.IntRange(min=0), default=0, help="Minutes; 0 = never.")
@click.option("--create-group", is_flag=True, help="Create the group when it does not exist.")
@click.option("--customer-facing", is_flag=True, help="Customers may open tickets in it (API, portal).")
@click.option("--display-name", default=None, help='The name customers see in From: ("Acme Support").')
@click.option("--process", "process_id", default=None, help="The process new tickets start (newest version).")
@friendly_errors
def queue_create(
    name: str,
    group_name: str,
    address: str | None,
    follow_up: str,
    unlock_timeout: int,
    create_group: bool,
    customer_facing: bool,
    display_name: str | None,
    process_id: str | None,
) -> None:
    """Create queue NAME (use Parent::Child for a sub-queue)."""
    from core.db import session_scope
    from core.errors import NotFound
    from desk.actor import SYSTEM
    from desk.agent import service as agents
    from flows import queue_admin

    with session_scope() as session:
        try:
            group = agents.get_group(session, name=group_name)
        except NotFound:
            if not create_group:
                raise
            group = agents.create_group(session, actor=SYSTEM, name=group_name)
        queue_admin.create_queue(
            session,
            actor=SYSTEM,
            display_name=display_name,
            process_id=process_id,
            name=name,
            group=group,
            system_address=address,
            follow_up_policy=follow_up,
            unlock_timeout_minutes=unlock_timeout,
            customer_facing=customer_facing,
        )
    click.echo(f"queue {name} created" + (" (open to customers)" if customer_facing else ""))
