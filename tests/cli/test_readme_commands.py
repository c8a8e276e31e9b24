"""Every command of the README's "The `ticketflow` command", run as a newcomer runs it.

Each command is a fresh ``ticketflow`` process on a fresh database (SQLite and PostgreSQL),
so nothing an earlier import left behind can hide a missing model, job or listener: in a
fresh process ``user token``, ``queue create`` and ``process deploy`` once crashed with
``'Article' is not defined``.  The long-running commands are started, checked (their port
answers, their line is printed) and stopped with SIGTERM.
"""

from __future__ import annotations

import re
import smtplib
import subprocess
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from core.db import session_scope
from core.migrate import alembic_config
from desk.agent import service as agents
from desk.queue.models import Queue
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from engine.models import ProcessInstance, ProcessVersion
from mail.models import MailAccount
from tests.subprocesses import (
    TICKETFLOW,
    PrivateRedis,
    free_port,
    port_answers,
    start_ticketflow,
    stop,
    ticketflow_env,
    wait_for,
)

SUBJECT = "Subprocess printer trouble"


def _mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Pia Pipe <pia@pipe.example>"
    mail["To"] = "support@helpdesk.example"
    mail["Subject"] = SUBJECT
    mail["Message-ID"] = make_msgid(domain="client.example")
    mail.set_content("The printer on floor 3 is broken.")
    return mail.as_bytes()


@pytest.mark.slow
def test_every_readme_command_works_in_a_fresh_process(database_url_for_cli, factory, tmp_path):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")

    def tf(*args: str, stdin: bytes | None = None) -> str:
        done = subprocess.run(
            [TICKETFLOW, *args], env=env, input=stdin, capture_output=True, timeout=180, check=False
        )
        assert done.returncode == 0, (args, done.stdout.decode(), done.stderr.decode())
        assert b"Traceback" not in done.stderr, done.stderr.decode()
        return done.stdout.decode().strip()

    assert tf("db", "upgrade") == "database is up to date"
    assert tf("db", "current") == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert re.fullmatch(r"demo data is loaded \(\d+ processes started\)", tf("seed", "demo"))
    assert (
        tf("user", "create", "nina", "--password", "s3cret-pass", "--grant", "raw:rw") == "agent nina created"
    )
    agent_token = tf("user", "token", "nina", "--expires-days", "7")
    customer_token = tf("customer", "token", "john.doe@acme.example")
    assert tf("queue", "create", "Extra", "--group", "raw", "--address", "extra@helpdesk.example") == (
        "queue Extra created"
    )
    assert tf("queue", "create", "Web", "--group", "raw", "--customer-facing") == (
        "queue Web created (open to customers)"
    )
    deployed = tf("process", "deploy").splitlines()
    assert "ticket_handling version 1 (unchanged)" in deployed  # seed demo deployed it
    assert any(line.startswith("ticket_handling ") for line in tf("process", "list").splitlines())

    stored = tf("mail", "ingest", stdin=_mail())
    match = re.fullmatch(r"stored as raw mail (\d+)", stored)
    assert match, stored
    raw_id = int(match.group(1))
    with session_scope(factory) as session:  # type: ignore[arg-type]
        ticket = session.scalars(select(Ticket).where(Ticket.title == SUBJECT)).one()
        number, ticket_id = ticket.number, ticket.id
        assert agents.authenticate_token(session, token=agent_token).login == "nina"
        assert session.get(RawMail, raw_id).status == "processed"
        facing = dict(
            session.execute(
                select(Queue.name, Queue.customer_facing).where(Queue.name.in_(("Extra", "Web")))
            ).all()
        )
        assert facing == {"Extra": False, "Web": True}
    assert re.fullmatch(
        r"process instance \d+ \(running\)", tf("process", "start", number, "--process", "donation")
    )
    assert re.fullmatch(r"\d+ process instance\(s\) advanced", tf("process", "fire-timers"))
    assert tf("mail", "fetch") == "0 new mail(s) stored"  # no mailbox yet
    assert tf("mail", "reprocess", str(raw_id)) == f"raw mail {raw_id}: processed"
    assert tf("mail", "send") == "outbox sent"
    # The acknowledgement of the piped mail went out (to the outbox folder, the embedded default).
    assert any("pia@pipe.example" in p.read_text() for p in (tmp_path / "var" / "outbox").glob("*.eml"))
    added = tf(
        "mail", "account-add", "Box", "--host", "127.0.0.1", "--port", "1143", "--no-ssl",
        "--username", "box@helpdesk.example", "--password", "box-pass",
    )  # fmt: skip
    assert added == "mailbox Box added"
    with session_scope(factory) as session:  # type: ignore[arg-type]
        assert session.scalars(select(MailAccount.name)).all() == ["Box"]
        started = session.scalars(
            select(ProcessVersion.process_id)
            .join(ProcessInstance, ProcessInstance.process_version_id == ProcessVersion.id)
            .where(ProcessInstance.ticket_id == ticket_id)
        ).all()
        assert "donation" in started
        assert agents.authenticate_token(session, token=customer_token).email == "john.doe@acme.example"

    _check_long_running_commands(env, tmp_path)


def _check_long_running_commands(env: dict[str, str], tmp_path: Path) -> None:
    log_path = tmp_path / "services.log"
    with log_path.open("ab") as log:
        web_port, run_port, smtp_port, run_smtp_port = free_port(), free_port(), free_port(), free_port()

        receiver = start_ticketflow(["mail", "receive", "--port", str(smtp_port)], env, log)
        wait_for(lambda: port_answers(smtp_port), 60, "the SMTP receiver")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            assert client.noop()[0] == 250
        assert stop(receiver) == 0

        web = start_ticketflow(["web", "--port", str(web_port), "--workers", "1"], env, log)
        wait_for(lambda: port_answers(web_port), 60, "gunicorn")
        assert _get(f"http://127.0.0.1:{web_port}/login") == 200
        assert stop(web) == 0

        run_env = {**env, "TICKETFLOW_SMTP_RECEIVER_PORT": str(run_smtp_port)}
        run = start_ticketflow(["run", "--port", str(run_port)], run_env, log)
        wait_for(lambda: port_answers(run_port), 60, "ticketflow run")
        assert _get(f"http://127.0.0.1:{run_port}/login") == 200
        assert port_answers(run_smtp_port)
        assert stop(run) == 0

        redis_server = PrivateRedis(tmp_path / "redis")
        redis_server.start()
        try:
            worker = start_ticketflow(["worker"], {**env, "TICKETFLOW_REDIS_URL": redis_server.url}, log)
            wait_for(lambda: "worker running" in log_path.read_text(), 60, "the worker's start line")
            assert worker.poll() is None
            assert stop(worker) == 0
        finally:
            redis_server.kill()
    output = log_path.read_text()
    assert f"receiving mail on 127.0.0.1:{smtp_port}" in output
    assert f"Ticketflow is running at http://127.0.0.1:{run_port}/" in output
    assert "Traceback" not in output, output


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (a local test server)
        return int(response.status)
