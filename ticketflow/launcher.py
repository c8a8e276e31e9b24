"""The ``ticketflow`` console script: a light start for the pipe, click for everything else.

An MTA runs ``ticketflow mail ingest`` once per mail, and importing the click command tree
(every command module, SQLAlchemy, the models) costs more than handing the mail over.  So
this module imports only the standard library: ``ticketflow mail ingest …`` runs
:mod:`mail.inbound.pipe_client`, which hands the mail to the running receiver; only when no
receiver takes it does the pipe import the command (:func:`ticketflow.cli.mail.ingest_directly`)
and store the mail itself.  Every other command, ``mail ingest --help``, options before
``mail``, and arguments the small parser does not take go to :func:`ticketflow.cli.main` as
before.
"""

from __future__ import annotations

import sys


def _ingest_directly(data: bytes, envelope_from: str, envelope_to: str) -> int:
    """The pipe's own way, with logging as the click root group sets it up."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ticketflow.cli.mail import ingest_directly

    return ingest_directly(data, envelope_from, envelope_to)


def main() -> None:
    """Run ``ticketflow`` with the arguments of this process."""
    args = sys.argv[1:]
    if args[:2] == ["mail", "ingest"]:
        from mail.inbound.pipe_client import main as pipe_main

        status = pipe_main(args[2:], _ingest_directly)
        if status is not None:
            sys.exit(status)
    from ticketflow.cli import main as cli_main

    cli_main()
