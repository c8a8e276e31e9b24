"""Running the services: ``ticketflow run`` (all in one process), ``web`` (gunicorn), ``worker``."""

from __future__ import annotations

import signal
import sys
import threading

import click

from core.config import get_settings
from ticketflow.cli.errors import friendly_errors


@click.command("web")
@click.option("--host", default=None, help="Default: TICKETFLOW_HOST.")
@click.option("--port", type=int, default=None, help="Default: TICKETFLOW_PORT.")
@click.option("--workers", type=click.IntRange(min=1), default=2)
def web_command(host: str | None, port: int | None, workers: int) -> None:
    """Serve the web UI with gunicorn (production)."""
    from gunicorn.app.wsgiapp import run as gunicorn_run

    settings = get_settings()
    bind = f"{host or settings.host}:{port or settings.port}"
    sys.argv = ["gunicorn", "--bind", bind, "--workers", str(workers), "ticketflow.wsgi:app"]
    gunicorn_run()


@click.command("worker")
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


@click.command("run")
@click.option("--host", default=None, help="Default: TICKETFLOW_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default: TICKETFLOW_PORT (5000).")
@click.option("--demo", is_flag=True, help="Load the demo data first.")
@friendly_errors
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
    # SIGTERM (systemd, a supervisor) stops as gently as Ctrl+C: ``shutdown`` waits for the
    # serving loop, so it must run on another thread than the one the signal interrupts.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        smtp.stop()
