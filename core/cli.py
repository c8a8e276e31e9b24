"""The ``ticketflow`` command: database, demo data, users, queues, and running the services.

Commands act as the system (they are run by whoever operates the installation), commit once
at the end, and turn Ticketflow errors into a message and exit status 1 instead of a trace.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from core.config import get_settings
from core.errors import TicketflowError

F = TypeVar("F", bound=Callable[..., Any])


def _friendly_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TicketflowError as exc:
            details = "".join(f"\n  {field}: {'; '.join(msgs)}" for field, msgs in exc.errors.items())
            raise click.ClickException(f"{exc.message}{details}") from None

    return wrapper  # type: ignore[return-value]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Ticketflow: help desk with BPMN processes."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# --- database --------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@_friendly_errors
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


@main.group()
def seed() -> None:
    """Sample data."""


@seed.command("demo")
@_friendly_errors
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


@main.group()
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
@_friendly_errors
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
    from desk.agent import service as agents
    from desk.demo import seed_reference_data

    with session_scope() as session:
        seed_reference_data(session)
        agent = agents.create_agent(
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
@_friendly_errors
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


@main.group()
def customer() -> None:
    """Customer users."""


@customer.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="What the token is for.")
@click.option(
    "--expires-days", type=click.IntRange(min=1), default=None, help="Days until it expires (default: never)."
)
@_friendly_errors
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


@main.group()
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
@_friendly_errors
def queue_create(
    name: str, group_name: str, address: str | None, follow_up: str, unlock_timeout: int, create_group: bool
) -> None:
    """Create queue NAME (use Parent::Child for a sub-queue)."""
    from core.db import session_scope
    from core.errors import NotFound
    from desk.actor import SYSTEM
    from desk.agent import service as agents
    from desk.queue import service as queues

    with session_scope() as session:
        try:
            group = agents.get_group(session, name=group_name)
        except NotFound:
            if not create_group:
                raise
            group = agents.create_group(session, actor=SYSTEM, name=group_name)
        queues.create_queue(
            session,
            actor=SYSTEM,
            name=name,
            group=group,
            system_address=address,
            follow_up_policy=follow_up,
            unlock_timeout_minutes=unlock_timeout,
        )
    click.echo(f"queue {name} created")


@main.group()
def process() -> None:
    """BPMN processes."""


@process.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--forms",
    "forms_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of the *.json forms (default: forms/ beside each file).",
)
@_friendly_errors
def process_deploy(files: tuple[Path, ...], forms_dir: Path | None) -> None:
    """Validate and deploy BPMN FILES (none: the default processes of bpmn/)."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from engine import definitions

    with session_scope() as session:
        if not files:
            versions = definitions.deploy_directory(session, actor=SYSTEM)
        else:
            versions = []
            for path in files:
                forms = definitions.read_forms(forms_dir or path.parent / "forms")
                versions += definitions.deploy(session, actor=SYSTEM, bpmn_xml=path.read_text(), forms=forms)
        for version in versions:
            click.echo(f"{version.process_id} version {version.version}")


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
@_friendly_errors
def process_start(ticket_number: str, process_id: str) -> None:
    """Start a process for the ticket with TICKET_NUMBER."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.ticket import service as tickets
    from engine import runtime

    with session_scope() as session:
        ticket = tickets.get_by_number(session, actor=SYSTEM, number=ticket_number)
        instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id=process_id)
        click.echo(f"process instance {instance.id} ({instance.status})")


@process.command("fire-timers")
def process_fire_timers() -> None:
    """Fire every due timer now (the worker does this every 30 seconds)."""
    from engine.tasks import fire_due_timers_now

    fired = fire_due_timers_now()
    click.echo(f"{len(fired)} process instance(s) advanced")


@main.group()
def mail() -> None:
    """The mail channel."""


EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the mail and tries again


@mail.command("ingest")
def mail_ingest() -> None:
    """Read one mail from standard input and store it (for an MTA pipe).

    Exits 75 when the database cannot be reached, so the MTA retries later.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from core import jobs
    from mail.inbound.receive import MailTooLarge, accept
    from mail.tasks import process_one

    data = sys.stdin.buffer.read()
    if not data.strip():
        raise click.ClickException("no mail on standard input")
    try:
        jobs.set_backend(_NullBackend())  # processed right here, not by a thread that dies with us
        raw_id, created = accept(data, source="pipe")
    except MailTooLarge as exc:
        raise click.ClickException(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        click.echo(f"cannot store the mail now: {exc}", err=True)
        sys.exit(EX_TEMPFAIL)
    if created:
        process_one(raw_id)
    click.echo(f"stored as raw mail {raw_id}" + ("" if created else " (already known)"))


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
@_friendly_errors
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


@mail.command("reprocess")
@click.argument("raw_mail_id", type=int)
def mail_reprocess(raw_mail_id: int) -> None:
    """Process a stored mail again (after a failure was fixed)."""
    from core.db import session_scope
    from desk.rawmail.models import RawMail
    from mail.tasks import process_one

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


@mail.command("send")
def mail_send() -> None:
    """Send every due mail of the outbox now (the worker does this every 15 seconds)."""
    from mail.tasks import sweep_outbox

    sweep_outbox()
    click.echo("outbox sent")


# --- running ---------------------------------------------------------------------------


@main.command("web")
@click.option("--host", default=None, help="Default: TICKETFLOW_HOST.")
@click.option("--port", type=int, default=None, help="Default: TICKETFLOW_PORT.")
@click.option("--workers", type=click.IntRange(min=1), default=2)
def web_command(host: str | None, port: int | None, workers: int) -> None:
    """Serve the web UI with gunicorn (production)."""
    from gunicorn.app.wsgiapp import run as gunicorn_run

    settings = get_settings()
    bind = f"{host or settings.host}:{port or settings.port}"
    sys.argv = ["gunicorn", "--bind", bind, "--workers", str(workers), "web.wsgi:app"]
    gunicorn_run()


@main.command("worker")
def worker_command() -> None:
    """Run background jobs from Redis (dramatiq) and send periodic jobs."""
    import dramatiq

    from core import jobs

    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException(
            "TICKETFLOW_REDIS_URL is not set; without Redis, 'ticketflow run' runs jobs in-process"
        )
    backend = jobs.get_backend()
    if not isinstance(backend, jobs.DramatiqBackend):
        raise click.ClickException("the worker needs the Redis job backend")
    stop = threading.Event()
    scheduler = threading.Thread(target=jobs.run_scheduler, args=(stop, backend), daemon=True)
    scheduler.start()
    worker = dramatiq.Worker(backend.broker, worker_threads=4)
    worker.start()
    # SIGTERM (systemd, a supervisor) stops as gently as Ctrl+C: running jobs finish, and
    # messages not yet acknowledged stay in Redis for the next worker.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo("worker running; Ctrl+C stops it")
    try:
        stop.wait()
    except KeyboardInterrupt:
        stop.set()
    finally:
        worker.stop()


@main.command("run")
@click.option("--host", default=None, help="Default: TICKETFLOW_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default: TICKETFLOW_PORT (5000).")
@click.option("--demo", is_flag=True, help="Load the demo data first.")
@_friendly_errors
def run_command(host: str | None, port: int | None, demo: bool) -> None:
    """Everything in one process on the embedded defaults: web and jobs."""
    from werkzeug.serving import make_server

    from core import jobs
    from core.db import get_engine, session_scope
    from core.migrate import upgrade
    from desk.demo import DEMO_PASSWORD, demo_logins, seed_demo, seed_reference_data
    from engine.demo import seed_processes
    from mail.demo import seed_auto_responses
    from web import create_app

    settings = get_settings()
    upgrade(get_engine())
    with session_scope() as session:
        if demo:
            seed_demo(session)
            seed_auto_responses(session)
            seed_processes(session)
        else:
            seed_reference_data(session)
    stop = threading.Event()
    threading.Thread(target=jobs.run_scheduler, args=(stop,), name="scheduler", daemon=True).start()
    from mail.inbound.smtp_receiver import make_controller

    smtp = make_controller(settings.smtp_receiver_host, settings.smtp_receiver_port)
    smtp.start()
    server = make_server(
        host or settings.host, port if port is not None else settings.port, create_app(), threaded=True
    )
    url = f"http://{server.host}:{server.port}/"
    click.echo(f"Ticketflow is running at {url}")
    click.echo(
        f"Mail to {smtp.hostname}:{smtp.port} (SMTP) becomes tickets; outgoing mail goes to "
        f"{settings.smtp_url or settings.outbox_dir}"
    )
    if demo:
        click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for spec in demo_logins():
            click.echo(f"  {spec.login:<12} {spec.purpose}")
    click.echo("Press Ctrl+C to stop.", nl=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        smtp.stop()
