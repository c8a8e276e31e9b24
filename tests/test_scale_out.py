"""Scale-out: two web processes and two workers on one PostgreSQL and one Redis lose and double nothing.

Everything runs as real processes, as on several machines: one SMTP receiver
(``ticketflow mail receive``), two ``ticketflow worker`` processes and two ``ticketflow web``
(gunicorn) processes, all against the same PostgreSQL database and a ``redis-server`` of the
test's own.  300 mails from three senders at once (from 50 new addresses, so first mails of
one new customer arrive together) become tickets with their Triage task; then 100 of those
tasks are completed through the REST API with an agent token, each one sent to *both* web
processes at the same moment, so the two race for every task.  In the end: every mail is
exactly one ticket with one customer article, each address one customer user, no raw mail
failed, and every task was completed once (one 200, one 409 naming it done; one Work task
after it).
"""

from __future__ import annotations

import json
import smtplib
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from subprocess import Popen

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker, session_scope
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from engine.models import HumanTask
from tests.conftest import WORKER, seeded_pg_database
from tests.subprocesses import (
    PrivateRedis,
    free_port,
    port_answers,
    start_ticketflow,
    stop,
    ticketflow_env,
    wait_for,
)

MAILS = 300
SENDERS = 3
# Runs of six mails from each of 50 new addresses: the three senders deliver first mails of
# one new customer at the same moment, so the workers race to create that customer.
ADDRESSES = 50
TASKS = 100
SUBJECT = "Scale-out mail"
TIMEOUT = 120.0


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A database of its own with the demo data, automatic answers and the default processes."""
    url = seeded_pg_database(f"tf_scale_out_{WORKER}")
    engine = make_engine(url)
    yield url, make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


def _address(n: int) -> str:
    return f"scale.{n // (MAILS // ADDRESSES)}@scale-out.example"


def _mail(n: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Scale Sender <{_address(n)}>"
    mail["To"] = "support@helpdesk.example"
    mail["Subject"] = f"{SUBJECT} {n:03d}"
    mail["Message-ID"] = make_msgid(domain="scale-out.example")
    mail.set_content(f"Mail number {n} of the scale-out test.")
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))


def _send_mails(port: int) -> None:
    """SENDERS SMTP clients at once, each on its own connection, MAILS in all."""

    def sender(first: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            for n in range(first, MAILS, SENDERS):
                refused = client.sendmail(_address(n), ["support@helpdesk.example"], _mail(n))
                assert refused == {}

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _open_triage_tasks(factory: sessionmaker[Session]) -> list[int]:
    with session_scope(factory) as session:
        return list(
            session.scalars(
                select(HumanTask.id)
                .join(Ticket, Ticket.id == HumanTask.ticket_id)
                .where(
                    HumanTask.name == "Triage", HumanTask.state == "open", Ticket.title.startswith(SUBJECT)
                )
                .order_by(HumanTask.id)
            )
        )


def _raw_statuses(factory: sessionmaker[Session]) -> dict[str, int]:
    with session_scope(factory) as session:
        rows = session.execute(select(RawMail.status, func.count()).group_by(RawMail.status)).all()
    return {status: int(count) for status, count in rows}


def _complete(
    port: int, token: str, task_id: int, barrier: threading.Barrier
) -> tuple[int, dict[str, object]]:
    """POST the completion to one web process; the barrier releases both racers together."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/tasks/{task_id}/complete",
        data=json.dumps({"data": {"decision": "work"}}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    barrier.wait(timeout=60)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (our own server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _race(ports: list[int], token: str, task_id: int) -> list[tuple[int, dict[str, object]]]:
    barrier = threading.Barrier(len(ports))
    with ThreadPoolExecutor(len(ports)) as pool:
        futures = [pool.submit(_complete, port, token, task_id, barrier) for port in ports]
        return [future.result() for future in futures]


@pytest.mark.slow
def test_two_web_processes_and_two_workers_lose_and_double_nothing(database, private_redis, tmp_path):
    url, factory = database
    env = ticketflow_env(url, tmp_path / "var", REDIS_URL=private_redis.url)
    smtp_port, web_ports = free_port(), [free_port(), free_port()]
    with session_scope(factory) as session:
        secretary = session.scalars(select(Agent).where(Agent.login == "secretary")).one()
        token = agents.create_token(session, actor=SYSTEM, agent=secretary, name="scale-out")

    logs: dict[str, Path] = {}
    processes: list[Popen[bytes]] = []

    def start(name: str, args: list[str]) -> None:
        logs[name] = tmp_path / f"{name}.log"
        with logs[name].open("ab") as log:
            processes.append(start_ticketflow(args, env, log))

    def output() -> str:
        return "\n".join(
            f"--- {name}\n{path.read_text(errors='replace')[-3000:]}" for name, path in logs.items()
        )

    try:
        start("receiver", ["mail", "receive", "--host", "127.0.0.1", "--port", str(smtp_port)])
        start("worker-1", ["worker"])
        start("worker-2", ["worker"])
        for i, port in enumerate(web_ports, 1):
            start(f"web-{i}", ["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"])
        for port in [smtp_port, *web_ports]:
            wait_for(lambda port=port: port_answers(port), 60, f"a process listening on {port}")

        _send_mails(smtp_port)
        wait_for(
            lambda: len(_open_triage_tasks(factory)) >= MAILS or "failed" in _raw_statuses(factory),
            TIMEOUT,
            "a Triage task for every mail",
        )
        assert _raw_statuses(factory) == {"processed": MAILS}, output()

        tasks = _open_triage_tasks(factory)[:TASKS]
        with ThreadPoolExecutor(4) as pool:
            races = dict(zip(tasks, pool.map(lambda task: _race(web_ports, token, task), tasks), strict=True))
    finally:
        for process in processes:
            stop(process)

    for task_id, answers in races.items():
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 409], (task_id, answers, output())
        refused = next(body for status, body in answers if status == 409)
        assert "already" in str(refused["message"]), refused

    with session_scope(factory) as session:
        tickets = session.scalars(select(Ticket.id).where(Ticket.title.startswith(SUBJECT))).all()
        assert len(tickets) == MAILS
        titles = Counter(session.scalars(select(Ticket.title).where(Ticket.id.in_(tickets))))
        assert sorted(titles) == [f"{SUBJECT} {n:03d}" for n in range(MAILS)]
        assert set(titles.values()) == {1}
        raw_tickets = session.scalars(select(RawMail.ticket_id)).all()
        assert sorted(raw_tickets) == sorted(tickets)
        per_raw = Counter(
            session.scalars(select(Article.raw_mail_id).where(Article.raw_mail_id.is_not(None)))
        )
        assert len(per_raw) == MAILS
        assert set(per_raw.values()) == {1}
        customer_articles = Counter(
            session.scalars(
                select(Article.ticket_id).where(
                    Article.ticket_id.in_(tickets), Article.sender_type == "customer"
                )
            )
        )
        assert set(customer_articles) == set(tickets)
        assert set(customer_articles.values()) == {1}
        customers = Counter(
            session.scalars(
                select(CustomerUser.email).where(CustomerUser.email.endswith("@scale-out.example"))
            )
        )
        assert customers == {_address(n): 1 for n in range(MAILS)}
        owners = session.execute(
            select(Ticket.title, CustomerUser.email)
            .join(CustomerUser, CustomerUser.id == Ticket.customer_user_id)
            .where(Ticket.id.in_(tickets))
        ).all()
        assert sorted(owners) == [(f"{SUBJECT} {n:03d}", _address(n)) for n in range(MAILS)]

        done = session.execute(
            select(HumanTask.id, HumanTask.state, HumanTask.completed_by_id).where(HumanTask.id.in_(races))
        ).all()
        assert {(row.state, row.completed_by_id) for row in done} == {("completed", secretary.id)}
        raced_tickets = session.scalars(select(HumanTask.ticket_id).where(HumanTask.id.in_(races))).all()
        work = Counter(
            session.scalars(
                select(HumanTask.ticket_id).where(
                    HumanTask.ticket_id.in_(raced_tickets),
                    HumanTask.name == "Work",
                    HumanTask.state == "open",
                )
            )
        )
        # One completion each: a second one would have started the Work step twice.
        assert work == dict.fromkeys(raced_tickets, 1)
        still_open = session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.ticket_id.in_(tickets), HumanTask.name == "Triage", HumanTask.state == "open")
        )
        assert still_open == MAILS - TASKS
    assert "Traceback" not in output(), output()
