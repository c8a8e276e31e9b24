"""The pipe starts light when workers take the mail: it stores and enqueues (issue 16).

An MTA runs ``ticketflow mail ingest`` once per mail.  With Redis configured the command
imports neither the web app (Flask) nor the process engine (SpiffWorkflow), computes no
argon2 hash, stores the raw mail with its envelope, and sends the processing job.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from core.db import make_engine, make_sessionmaker, session_scope
from core.jobs import job_name
from desk.rawmail.models import RawMail
from mail.inbound.pipe import PROCESS_JOB
from mail.tasks import process_raw_mail_job
from tests.mail.conftest import build_mail
from tests.subprocesses import PrivateRedis, free_port, ticketflow_env

EX_TEMPFAIL = 75
PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("flask", "SpiffWorkflow", "web", "engine", "flows", "processes")
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", re.MULTILINE)


def _ingest(data: bytes, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    """The command as the console script runs it, with Python reporting every import."""
    return subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "from ticketflow.cli import main; main()",
            "mail",
            "ingest",
            *args,
        ],
        input=data,
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )


def _job_messages(client: redis.Redis) -> list[dict]:
    """The job messages waiting in the default queue (dramatiq's Redis layout)."""
    return [json.loads(raw) for raw in client.hvals("ticketflow:default.msgs")]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of this test's own: a worker of another test must not take its job."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


def test_the_pipe_stores_the_mail_and_enqueues_it_without_the_app(mail_database, own_redis, tmp_path):
    env = ticketflow_env(mail_database, tmp_path, REDIS_URL=own_redis)
    mail = build_mail(subject="Light pipe", sender="Lia Light <lia@light.example>")
    client = redis.Redis.from_url(own_redis)
    waiting_before = {m["message_id"] for m in _job_messages(client)}

    done = _ingest(
        mail.as_bytes(), env, "--sender", "lia@light.example", "--recipient", "bcc@helpdesk.example"
    )

    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    match = re.fullmatch(r"stored as raw mail (\d+)\n", done.stdout.decode())
    assert match, done.stdout
    raw_id = int(match.group(1))
    modules = set(IMPORTED.findall(stderr))
    assert "mail.inbound.pipe" in modules  # the report is read right
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []
    engine = make_engine(mail_database)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            raw = session.get(RawMail, raw_id)
            assert raw is not None
            assert (raw.source, raw.status, raw.ticket_id) == ("pipe", "received", None)  # the workers' job
            assert (raw.envelope_from, raw.envelope_to) == ("lia@light.example", "bcc@helpdesk.example")
            assert raw.message_id == mail["Message-ID"]
    finally:
        engine.dispose()
    sent = [
        m
        for m in _job_messages(client)
        if m["message_id"] not in waiting_before
        and m["actor_name"] == PROCESS_JOB
        and m["kwargs"] == {"raw_mail_id": raw_id}
    ]
    assert len(sent) == 1
    client.hdel("ticketflow:default.msgs", sent[0]["message_id"])
    client.lrem("ticketflow:default", 0, sent[0]["message_id"])


def test_the_job_name_the_pipe_sends_is_the_one_the_workers_declare():
    assert job_name(process_raw_mail_job) == PROCESS_JOB


def test_a_stored_mail_whose_job_cannot_be_sent_still_counts_as_delivered(mail_database, tmp_path):
    env = ticketflow_env(mail_database, tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    mail = build_mail(subject="Redis is down", sender="rex@light.example")

    done = _ingest(mail.as_bytes(), env)

    assert done.returncode == 0, done.stderr.decode()
    assert b"the sweep takes it" in done.stderr
    engine = make_engine(mail_database)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            raw = session.scalars(select(RawMail).where(RawMail.message_id == mail["Message-ID"])).one()
            assert raw.status == "received"  # the workers' sweep takes received mails
    finally:
        engine.dispose()


def test_the_light_pipe_exits_75_when_the_database_is_down(redis_url, tmp_path):
    env = ticketflow_env(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none", tmp_path, REDIS_URL=redis_url
    )

    done = _ingest(build_mail(subject="Nobody home").as_bytes(), env)

    assert done.returncode == EX_TEMPFAIL, done.stderr.decode()
    assert b"cannot store the mail now" in done.stderr


def test_importing_the_security_module_computes_no_hash():
    done = subprocess.run(
        [sys.executable, "-c", "import core.security as s; print(s._dummy_hash.cache_info().currsize)"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == b"0"
