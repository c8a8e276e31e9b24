"""``ticketflow mail``: the pipe, the SMTP receiver, IMAP mailboxes, reprocessing, the outbox."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from core.config import get_settings
from ticketflow.cli.errors import friendly_errors


@click.group()
@click.pass_context
def mail(ctx: click.Context) -> None:
    """The mail channel."""
    if ctx.invoked_subcommand != "ingest":
        # The root group leaves the bootstrap to this group: the pipe composes only what it needs.
        from ticketflow.bootstrap import bootstrap

        bootstrap()


EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the mail and tries again


@mail.command("ingest")
@click.option(
    "--sender",
    default=None,
    metavar="ADDRESS",
    help="The envelope sender (Postfix: ${sender}, Exim: $sender_address); empty for the null sender.",
)
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    metavar="ADDRESS",
    help="An envelope recipient (Postfix: ${recipient}); repeatable. It routes the mail when no To or Cc "
    "names a queue address (a Bcc).",
)
@click.argument("more_recipients", nargs=-1, metavar="[RECIPIENT]...")
def mail_ingest(sender: str | None, recipients: tuple[str, ...], more_recipients: tuple[str, ...]) -> None:
    """Read one mail from standard input and store it (for an MTA pipe).

    The envelope is stored with it: --sender and every --recipient (further recipients may
    follow as arguments, as Postfix's ${recipient} expands to one argument per recipient).
    The mail goes to the running SMTP receiver (TICKETFLOW_SMTP_RECEIVER_HOST/PORT) when one
    of this installation listens there, else it is stored here: with Redis configured it is
    stored and handed to the workers (mail.inbound.pipe), without it is processed here.
    Exits 75 when the mail cannot be stored now, so the MTA retries later.
    """
    from mail.inbound.pipe_client import ingest

    data = sys.stdin.buffer.read()
    if not data.strip():
        raise click.ClickException("no mail on standard input")
    status = ingest(data, sender=sender, recipients=(*recipients, *more_recipients), direct=ingest_directly)
    if status:
        sys.exit(status)


def ingest_directly(data: bytes, envelope_from: str, envelope_to: str) -> int:
    """The pipe storing the mail itself (no receiver took it); prints the outcome, returns the status.

    The fallback of :mod:`mail.inbound.pipe_client`, for the console script's light start
    (:mod:`ticketflow.launcher`) as for this command.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from mail.inbound.receive import MailTooLarge

    redis_url = get_settings().redis_url
    try:
        if redis_url:
            from mail.inbound.pipe import store_and_enqueue

            raw_id, created = store_and_enqueue(
                data, envelope_from=envelope_from, envelope_to=envelope_to, redis_url=redis_url
            )
        else:
            raw_id, created = _store_for_processing_here(data, envelope_from, envelope_to)
    except MailTooLarge as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        click.echo(f"cannot store the mail now: {exc}", err=True)
        return EX_TEMPFAIL
    if created and not redis_url:
        from mail.tasks import process_one

        process_one(raw_id)
    click.echo(f"stored as raw mail {raw_id}" + ("" if created else " (already known)"))
    return 0


def _store_for_processing_here(data: bytes, envelope_from: str, envelope_to: str) -> tuple[int, bool]:
    """The embedded mode: no worker to hand the mail to, so this process composes everything."""
    from core import jobs
    from mail.inbound.receive import accept
    from ticketflow.bootstrap import bootstrap

    bootstrap()
    jobs.set_backend(_NullBackend())  # processed right here, not by a thread that dies with us
    return accept(data, source="pipe", envelope_from=envelope_from, envelope_to=envelope_to)


class _NullBackend:
    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        """Drop job messages: the periodic sweeps of the running worker pick the work up."""


@mail.command("receive")
@click.option("--host", default=None, help="Default: TICKETFLOW_SMTP_RECEIVER_HOST.")
@click.option("--port", type=int, default=None, help="Default: TICKETFLOW_SMTP_RECEIVER_PORT.")
def mail_receive(host: str | None, port: int | None) -> None:
    """Run the SMTP receiver alone."""
    from mail.inbound.smtp_receiver import make_controller

    settings = get_settings()
    controller = make_controller(host or settings.smtp_receiver_host, port or settings.smtp_receiver_port)
    controller.start()
    click.echo(f"receiving mail on {controller.hostname}:{controller.port}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@mail.command("fetch")
def mail_fetch() -> None:
    """Fetch every active IMAP mailbox once."""
    from core import jobs
    from mail.inbound.imap import fetch_all

    stored = fetch_all()
    backend = jobs.get_backend()
    if isinstance(backend, jobs.InProcessBackend):
        # Without Redis the jobs run on a thread of this process: let them finish (the new
        # tickets and their answers) instead of cutting them off when the command exits.
        backend.join()
    click.echo(f"{stored} new mail(s) stored")


@mail.command("account-add")
@click.argument("name")
@click.option("--host", required=True)
@click.option("--port", type=int, default=993, show_default=True)
@click.option("--no-ssl", is_flag=True, help="Plain IMAP (only for a server on this machine).")
@click.option("--username", required=True, help="Also the address that routes the mail to a queue.")
@click.option("--password", prompt=True, hide_input=True)
@click.option("--folder", default="INBOX", show_default=True)
@click.option("--processed-folder", default="", help="Move fetched mail here (default: flag it).")
@friendly_errors
def mail_account_add(
    name: str,
    host: str,
    port: int,
    no_ssl: bool,
    username: str,
    password: str,
    folder: str,
    processed_folder: str,
) -> None:
    """Add an IMAP mailbox to fetch."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from mail.accounts import create_account

    with session_scope() as session:
        create_account(
            session,
            actor=SYSTEM,
            name=name,
            host=host,
            port=port,
            use_ssl=not no_ssl,
            username=username,
            password=password,
            folder=folder,
            processed_folder=processed_folder,
        )
    click.echo(f"mailbox {name} added")


@mail.command("failed")
def mail_failed() -> None:
    """List the stored mails whose processing failed, with the reason."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from mail.failures import count_failed, list_failed

    with session_scope() as session:
        mails = list_failed(session, actor=SYSTEM)
        total = count_failed(session, actor=SYSTEM)
    if not mails:
        click.echo("no failed mail")
        return
    # One mail per line, tab-separated: readable, and easy to cut or grep in a script.
    for m in mails:
        received = m.received_at.strftime("%Y-%m-%d %H:%M:%S")
        subject = m.subject or m.message_id or "(no subject)"
        sender = m.envelope_from or "-"
        reason = " ".join(m.error.split())
        click.echo(f"{m.id}\t{received}\t{m.source}\t{sender}\t{subject}\t{m.attempts} attempt(s)\t{reason}")
    more = f" (the oldest {len(mails)} shown)" if total > len(mails) else ""
    click.echo(f"{total} failed mail(s){more}; process again: ticketflow mail reprocess ID|--all-failed")


@mail.command("reprocess")
@click.argument("raw_mail_id", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Process every failed mail again (once the cause is fixed).")
def mail_reprocess(raw_mail_id: int | None, all_failed: bool) -> None:
    """Process a stored mail again (after a failure was fixed)."""
    from core.db import session_scope
    from desk.rawmail.models import RawMail
    from mail.tasks import process_one

    if (raw_mail_id is None) == (not all_failed):
        raise click.UsageError("give either a RAW_MAIL_ID or --all-failed")
    if raw_mail_id is None:  # so --all-failed
        _reprocess_all_failed()
        return
    with session_scope() as session:
        raw = session.get(RawMail, raw_mail_id)
        if raw is None:
            raise click.ClickException(f"no raw mail {raw_mail_id}")
        if raw.status == "failed":
            raw.status = "received"
    process_one(raw_mail_id)
    with session_scope() as session:
        raw = session.get(RawMail, raw_mail_id)
        assert raw is not None  # noqa: S101 (just read it)
        click.echo(f"raw mail {raw_mail_id}: {raw.status}" + (f" ({raw.error})" if raw.error else ""))


def _reprocess_all_failed() -> None:
    """Every failed mail again, through the same use case as the admin page's button."""
    from sqlalchemy import select

    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.rawmail.models import RawMail
    from mail.failures import reprocess

    with session_scope() as session:
        # Processed right after this commit (the use case's after-commit hook).
        ids = reprocess(session, actor=SYSTEM)
    if not ids:
        click.echo("no failed mail")
        return
    with session_scope() as session:
        query = select(RawMail.id, RawMail.status, RawMail.error).where(RawMail.id.in_(ids))
        rows = session.execute(query.order_by(RawMail.id)).all()
    for raw_id, status, error in rows:
        reason = f" ({error})" if status != "processed" and error else ""
        click.echo(f"raw mail {raw_id}: {status}{reason}")
    still = sum(1 for _id, status, _error in rows if status == "failed")
    click.echo(f"{len(ids) - still} of {len(ids)} processed" + (f", {still} failed again" if still else ""))


@mail.command("send")
def mail_send() -> None:
    """Send every due mail of the outbox now (the worker does this every 15 seconds)."""
    from mail.tasks import sweep_outbox

    sweep_outbox()
    click.echo("outbox sent")
