"""``ticketflow process``: deploy, list and start BPMN processes, fire due timers."""

from __future__ import annotations

from pathlib import Path

import click

from ticketflow.cli.errors import friendly_errors


@click.group()
def process() -> None:
    """BPMN processes."""


@process.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--forms",
    "forms_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of the *.json forms (default: forms/ beside each file); *.json and *.dmn files "
    "beside each file are read too.",
)
@click.option(
    "--update-shipped",
    is_flag=True,
    help="Without FILES: deploy the shipped processes even where a version exists (a designer's "
    "newer version is then replaced as the newest).",
)
@friendly_errors
def process_deploy(files: tuple[Path, ...], forms_dir: Path | None, update_shipped: bool) -> None:
    """Validate and deploy BPMN FILES (none: the shipped processes of bpmn/ not deployed yet)."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from engine import definitions

    with session_scope() as session:
        if not files:
            before = {v.id for v in definitions.list_versions(session)}
            shipped = definitions.deploy_directory(session, actor=SYSTEM, only_missing=not update_shipped)
            outcome = [(version, version.id not in before) for version in shipped]
        else:
            outcome = []
            for path in files:
                try:
                    text = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    raise click.ClickException(f"{path}: not a UTF-8 text file") from None
                # Forms and decision tables (*.dmn) beside the diagram and in its forms folder;
                # a broken file the diagram does not use is left out.
                forms = {
                    **definitions.read_forms(path.parent),
                    **definitions.read_forms(forms_dir or path.parent / "forms"),
                }
                outcome += definitions.deploy_with_outcome(session, actor=SYSTEM, bpmn_xml=text, forms=forms)
        for version, created in outcome:
            note = "" if created else " (unchanged)"
            click.echo(f"{version.process_id} version {version.version}{note}")


@process.command("list")
def process_list() -> None:
    """List deployed process versions, newest first."""
    from core.db import session_scope
    from engine import definitions

    with session_scope() as session:
        for version in definitions.list_versions(session):
            when = version.deployed_at.strftime("%Y-%m-%d %H:%M")
            click.echo(f"{version.process_id:<24} v{version.version:<4} {when}  {version.name}")


@process.command("start")
@click.argument("ticket_number")
@click.option("--process", "process_id", default="ticket_handling", show_default=True)
@friendly_errors
def process_start(ticket_number: str, process_id: str) -> None:
    """Start a process for the ticket with TICKET_NUMBER."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.ticket import service as tickets
    from flows.open_ticket import start_process

    with session_scope() as session:
        ticket = tickets.get_by_number(session, actor=SYSTEM, number=ticket_number)
        instance = start_process(session, actor=SYSTEM, ticket=ticket, process_id=process_id)
        click.echo(f"process instance {instance.id} ({instance.status})")


@process.command("migrate")
@click.option("--ticket", "ticket_number", required=True, help="The ticket's number.")
@click.option("--to-version", "version", type=click.IntRange(min=1), required=True, help="A newer version.")
@click.option(
    "--instance", "instance_id", type=click.IntRange(min=1), default=None, help="When it runs several."
)
@friendly_errors
def process_migrate(ticket_number: str, version: int, instance_id: int | None) -> None:
    """Move the ticket's waiting process instance onto a newer version of its process."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.ticket import service as tickets
    from flows import process_migration

    with session_scope() as session:
        ticket = tickets.get_by_number(session, actor=SYSTEM, number=ticket_number)
        instance = process_migration.migrate(
            session, actor=SYSTEM, ticket=ticket, version=version, instance_id=instance_id
        )
        click.echo(
            f"process instance {instance.id}: {instance.process_version.process_id} "
            f"version {instance.process_version.version} ({instance.status})"
        )


@process.command("fire-timers")
def process_fire_timers() -> None:
    """Fire every due timer now (the worker does this every 30 seconds)."""
    from engine.tasks import fire_due_timers_now

    fired = fire_due_timers_now()
    click.echo(f"{len(fired)} process instance(s) advanced")
