"""Shared fixtures: a real database per xdist worker, a rolled-back transaction per test.

PostgreSQL on 127.0.0.1 is the default database (``TICKETFLOW_TEST_DB=sqlite`` runs the
smoke subset on SQLite).  Each worker gets its own database, migrated with Alembic and
loaded with the demo data once; each test runs inside a transaction that is rolled back, so
tests see the demo data and never each other's changes.  Tests that need committed data of
their own (browser, mail) take a copy of a seeded template (:func:`seeded_pg_database`).  With
``CI=true`` an unreachable PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_DB = os.environ.get("TICKETFLOW_TEST_DB", "postgresql")
PG_SERVER_URL = os.environ.get("TICKETFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("TICKETFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
# Lets two test runs share one PostgreSQL server without dropping each other's databases.
DB_PREFIX = os.environ.get("TICKETFLOW_TEST_DB_PREFIX", "")

_VAR_DIR = Path(tempfile.mkdtemp(prefix=f"ticketflow-test-{WORKER}-"))
if TEST_DB == "sqlite":
    _DATABASE_URL = f"sqlite:///{_VAR_DIR / 'test.sqlite3'}"
else:
    _DATABASE_URL = f"{PG_SERVER_URL}/{DB_PREFIX}tf_test_{WORKER}"

# Before any Ticketflow module reads its settings: every default points at the test world.
os.environ.update(
    {
        "TICKETFLOW_ENV": "test",
        "TICKETFLOW_VAR_DIR": str(_VAR_DIR),
        "TICKETFLOW_DATABASE_URL": _DATABASE_URL,
        "TICKETFLOW_SECRET_KEY": "test-secret-key-not-for-production",
    }
)
os.environ.pop("TICKETFLOW_REDIS_URL", None)
os.environ.pop("TICKETFLOW_SMTP_URL", None)

import argon2  # noqa: E402
from sqlalchemy import Engine, create_engine, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import core.security  # noqa: E402
from core import jobs  # noqa: E402
from core.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from desk.agent.models import Agent  # noqa: E402
from desk.customer.models import CustomerUser  # noqa: E402
from desk.demo import seed_demo  # noqa: E402
from desk.queue.models import Queue  # noqa: E402
from engine.demo import seed_processes  # noqa: E402
from mail.demo import seed_auto_responses  # noqa: E402
from ticketflow.bootstrap import bootstrap  # noqa: E402

# The tests compose the application as every entry point does: every model, job, listener
# and operator, registered explicitly.
bootstrap()

# Still argon2id, but at its cheapest in this process: seeding the demo data hashes 18
# passwords and every sign-in verifies one, each costing 0.1-0.8 s at the product's
# parameters on a shared two-core machine.  Hashes carry their parameters, so subprocesses
# (CLI, workers) verify them as usual; tests/core/test_security.py checks, in a process of
# its own, that the product hashes at its real parameters.
core.security._hasher = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)


def unavailable(what: str, why: object) -> None:
    """Fail in CI, skip elsewhere: a missing service must never pass silently in CI."""
    message = f"{what} is not reachable: {why}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def create_pg_database(name: str) -> str:
    """(Re)create an empty PostgreSQL database and return its URL."""
    name = f"{DB_PREFIX}{name}"[:63]
    try:
        admin = create_engine(f"{PG_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # any driver error means the server is unusable
        unavailable("PostgreSQL on 127.0.0.1", exc)
    return f"{PG_SERVER_URL}/{name}"


class _DropJobs:
    """A job backend that drops every message: seeding a template delivers nothing."""

    def send(self, name: str, kwargs: dict[str, object]) -> None:
        """Drop ``name`` (the demo data's own outbox rows stay queued, as in a fresh install)."""


# The URL of this worker's seeded template database, once it is built.
_SEEDED_TEMPLATE: dict[str, str] = {}


def _seeded_template() -> str:
    """This worker's template: migrated, demo data, automatic answers, default processes."""
    if "url" not in _SEEDED_TEMPLATE:
        url = create_pg_database(f"tf_template_{WORKER}")
        engine = make_engine(url)
        upgrade(engine)
        previous = jobs._current.get("backend")
        jobs.set_backend(_DropJobs())
        try:
            with session_scope(make_sessionmaker(engine)) as session:
                seed_demo(session)
                seed_auto_responses(session)
                seed_processes(session)
        finally:
            jobs.set_backend(previous)
            engine.dispose()
        _SEEDED_TEMPLATE["url"] = url
    return _SEEDED_TEMPLATE["url"]


def seeded_pg_database(name: str) -> str:
    """(Re)create PostgreSQL database ``name`` with the schema at head, the demo data, the
    automatic answers and the default processes started for the demo tickets; its URL.

    Migrating and seeding take seconds; the first call of a worker does it once into a
    template, every call copies that (``CREATE DATABASE … TEMPLATE``, a file copy).
    """
    server, template = _seeded_template().rsplit("/", 1)
    copy = f"{DB_PREFIX}{name}"[:63]
    try:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
            # A copy needs a template nobody is connected to; any connection left is ours.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": template},
            )
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"'))
        admin.dispose()
    except Exception as exc:  # any driver error means the server is unusable
        unavailable("PostgreSQL on 127.0.0.1", exc)
    return f"{server}/{copy}"


@pytest.fixture(scope="session")
def database_url() -> str:
    """The URL of this worker's test database, created empty."""
    if TEST_DB == "sqlite":
        return _DATABASE_URL
    return create_pg_database(f"tf_test_{WORKER}")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """This worker's engine: schema migrated to head, demo data loaded and committed."""
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        seed_demo(session)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every commit is a savepoint inside a transaction rolled back at the end."""
    connection = engine.connect()
    transaction = connection.begin()
    db_session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db_session
    finally:
        db_session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def agent(session: Session) -> Callable[[str], Agent]:
    """Look up a demo agent by login: ``agent("alice")``."""

    def get(login: str) -> Agent:
        return session.scalars(select(Agent).where(Agent.login == login)).one()

    return get


@pytest.fixture
def queue(session: Session) -> Callable[[str], Queue]:
    """Look up a demo queue by path: ``queue("Board::Treasurer")``."""

    def get(name: str) -> Queue:
        return session.scalars(select(Queue).where(Queue.name == name)).one()

    return get


@pytest.fixture
def customer(session: Session) -> Callable[[str], CustomerUser]:
    """Look up a demo customer user by e-mail address."""

    def get(email: str) -> CustomerUser:
        return session.scalars(select(CustomerUser).where(CustomerUser.email == email)).one()

    return get


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis (database 15), flushed; fails in CI when Redis is down."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis on 127.0.0.1", exc)
    return REDIS_URL
