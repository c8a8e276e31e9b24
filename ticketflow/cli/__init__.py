"""The ``ticketflow`` command: one root group gathering each package's commands.

Commands act as the system (they are run by whoever operates the installation), commit once
at the end, and turn Ticketflow errors into a message and exit status 1 instead of a trace.
Before any command runs, the root group calls :func:`ticketflow.bootstrap.bootstrap`, so a
command in a fresh process sees every model, job, listener and operator; ``--help`` skips it
and stays fast.
"""

from __future__ import annotations

import logging

import click

from ticketflow.cli import customers, db, mail, processes, queues, run, users


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Ticketflow: help desk with BPMN processes."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if ctx.invoked_subcommand != "mail":
        # ``mail`` composes in its own group: its pipe (``mail ingest``) starts light.
        from ticketflow.bootstrap import bootstrap

        bootstrap()


for command in (
    db.db,
    db.seed,
    users.user,
    customers.customer,
    queues.queue,
    processes.process,
    mail.mail,
    run.run_command,
    run.web_command,
    run.worker_command,
):
    main.add_command(command)
