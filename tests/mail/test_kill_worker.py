"""A worker killed with SIGKILL in the middle of the mail loses nothing and doubles nothing.

200 mails are stored through our SMTP receiver, their processing jobs waiting in Redis.  A
real ``ticketflow worker`` starts on them and is killed (``kill -9``) after some, not all,
were processed; a second worker finishes the rest — the jobs still in Redis, and through the
periodic sweep whatever the killed worker had taken with it.  In the end every mail is one
ticket with one customer article and one acknowledgement.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import config, db, jobs
from core.db import make_engine, make_sessionmaker, session_scope
from desk.article.models import Article
from desk.outbox.models import OutboxMessage
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from mail.inbound.smtp_receiver import make_controller
from tests.mail.conftest import Relay, build_mail, free_port

BIN = Path(sys.executable).parent
MAILS = 200
KILL_AFTER = 20  # processed mails
TIMEOUT = 120.0
# A Redis database of this test's own (it is flushed): the other tests use database 15 and run
# workers on it.  Two test runs sharing one Redis set TICKETFLOW_TEST_WORKER_REDIS_URL apart.
WORKER_REDIS_URL = os.environ.get("TICKETFLOW_TEST_WORKER_REDIS_URL", "")
REDIS_DB = 14
SUBJECT = "Killed worker mail"


@pytest.fixture
def worker_redis_url(redis_url: str) -> Iterator[str]:
    """An empty Redis database for the workers of this test."""
    url = WORKER_REDIS_URL or f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def factory(mail_database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(mail_database)
    yield make_sessionmaker(engine)
    engine.dispose()


def _store_mails_with_jobs_in_redis(mail_database: str, redis_url: str) -> None:
    """Our SMTP receiver in this process stores the mails; their jobs go to Redis."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TICKETFLOW_DATABASE_URL", mail_database)
        config.get_settings.cache_clear()
        db.get_engine.cache_clear()
        jobs.set_backend(jobs.DramatiqBackend(redis_url))
        receiver = make_controller("127.0.0.1", free_port())
        receiver.start()
        try:
            _send_mails(receiver)
        finally:
            receiver.stop()
            jobs.set_backend(None)
            db.get_engine().dispose()
            db.get_engine.cache_clear()
            config.get_settings.cache_clear()


def _send_mails(receiver: Any) -> None:
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=60) as client:
        for n in range(MAILS):
            mail = build_mail(
                subject=f"{SUBJECT} {n:03d}",
                sender=f"Kill Test {n} <kill.{n}@kill-worker.example>",
                body=f"Mail number {n}.",
            )
            data = mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))
            client.sendmail(str(mail["From"]), ["support@helpdesk.example"], data)


def _taken_by_workers(redis_url: str) -> int:
    """Messages a worker fetched from Redis and never acknowledged."""
    with redis.Redis.from_url(redis_url) as client:
        return sum(int(client.scard(key)) for key in client.scan_iter(match="ticketflow:__acks__.*"))


def _counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with session_scope(factory) as session:
        rows = session.execute(select(RawMail.status, func.count()).group_by(RawMail.status)).all()
    return {status: int(count) for status, count in rows}


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(BIN / "ticketflow"), "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_duplicates_no_mail(
    mail_database, worker_redis_url, factory, relay: Relay, tmp_path
):
    _store_mails_with_jobs_in_redis(mail_database, worker_redis_url)
    assert _counts(factory) == {"received": MAILS}
    with redis.Redis.from_url(worker_redis_url) as client:
        queued = client.hlen("ticketflow:default.msgs")
    assert queued == MAILS, "the processing jobs are not waiting in Redis"

    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
    env.update(
        {
            "TICKETFLOW_DATABASE_URL": mail_database,
            "TICKETFLOW_REDIS_URL": worker_redis_url,
            "TICKETFLOW_SECRET_KEY": "kill-worker-test",
            "TICKETFLOW_ENV": "test",
            "TICKETFLOW_SMTP_URL": relay.url,
            "TICKETFLOW_VAR_DIR": str(tmp_path),
            # Production sweeps every 60 s for mails older than 30 s; the test cannot wait that long.
            "TICKETFLOW_RAW_MAIL_SWEEP_SECONDS": "3",
            "TICKETFLOW_RAW_MAIL_SWEEP_GRACE_SECONDS": "5",
        }
    )
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"

    first = _start_worker(env, first_log)
    try:
        deadline = time.monotonic() + TIMEOUT
        while _counts(factory).get("processed", 0) < KILL_AFTER and time.monotonic() < deadline:
            assert first.poll() is None, first_log.read_text(errors="replace")
            time.sleep(0.02)
    finally:
        _stop(first, signal.SIGKILL)
    at_kill = _counts(factory)
    assert KILL_AFTER <= at_kill.get("processed", 0) < MAILS, at_kill
    # The killed worker took messages with it (fetched, never acknowledged): Redis would hand
    # them out again only after its heartbeat timed out; the sweep must find their mails.
    assert _taken_by_workers(worker_redis_url) > 0

    second = _start_worker(env, second_log)
    try:
        deadline = time.monotonic() + TIMEOUT
        counts = _counts(factory)
        while counts.get("processed", 0) + counts.get("failed", 0) < MAILS and time.monotonic() < deadline:
            assert second.poll() is None, second_log.read_text(errors="replace")
            time.sleep(0.5)
            counts = _counts(factory)
    finally:
        _stop(second)
    output = second_log.read_text(errors="replace")

    assert counts == {"processed": MAILS}, f"{counts} (at the kill: {at_kill})\n{output[-5000:]}"
    with session_scope(factory) as session:
        tickets = session.scalars(select(Ticket.id).where(Ticket.title.startswith(SUBJECT))).all()
        assert len(tickets) == MAILS
        raw_tickets = session.scalars(select(RawMail.ticket_id)).all()
        assert sorted(raw_tickets) == sorted(tickets)
        per_raw = session.execute(
            select(Article.raw_mail_id, func.count())
            .where(Article.raw_mail_id.is_not(None))
            .group_by(Article.raw_mail_id)
        ).all()
        assert len(per_raw) == MAILS
        assert {count for _, count in per_raw} == {1}
        customer_articles = session.execute(
            select(Article.ticket_id, func.count())
            .where(Article.ticket_id.in_(tickets), Article.sender_type == "customer")
            .group_by(Article.ticket_id)
        ).all()
        assert len(customer_articles) == MAILS
        assert {count for _, count in customer_articles} == {1}
        answers = session.execute(
            select(OutboxMessage.ticket_id, func.count())
            .where(OutboxMessage.ticket_id.in_(tickets))
            .group_by(OutboxMessage.ticket_id)
        ).all()
        assert {count for _, count in answers} == {1}
        assert len(answers) == MAILS
    assert "Traceback" not in output, output[-5000:]
