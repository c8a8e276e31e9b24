"""The ``ticketflow`` command against a database of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import func, select

from core import config, db
from core.db import make_sessionmaker, session_scope, utcnow
from core.migrate import alembic_config
from desk.agent import service as agents
from desk.agent.models import Agent, ApiToken
from desk.customer.models import CustomerUser
from desk.demo import DEMO_PASSWORD
from desk.queue.models import Queue
from tests.conftest import WORKER, create_pg_database
from ticketflow.cli import main


@pytest.fixture(scope="module")
def cli_database_url():
    return create_pg_database(f"tf_cli_{WORKER}")


@pytest.fixture
def cli(cli_database_url, monkeypatch):
    """Run ``ticketflow …`` with the CLI database configured."""
    monkeypatch.setenv("TICKETFLOW_DATABASE_URL", cli_database_url)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    yield run
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()


@pytest.fixture
def cli_session(cli_database_url):
    engine = db.make_engine(cli_database_url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        yield session
    engine.dispose()


def test_upgrade_seed_and_current(cli, cli_session):
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert (
        cli("db", "current").output.strip()
        == ScriptDirectory.from_config(alembic_config()).get_current_head()
    )
    assert cli("seed", "demo").exit_code == 0
    count = cli_session.scalar(select(func.count()).select_from(Agent))
    assert cli("seed", "demo").exit_code == 0  # a second run adds nothing
    assert cli_session.scalar(select(func.count()).select_from(Agent)) == count
    assert agents.authenticate(cli_session, login="secretary", password=DEMO_PASSWORD) is not None


def test_user_create_with_grants_can_log_in(cli, cli_session):
    cli("db", "upgrade")
    cli("seed", "demo")
    result = cli(
        "user",
        "create",
        "newbie",
        "--password",
        "s3cret-pass",
        "--grant",
        "raw:ro,note",
        "--first-name",
        "Nina",
    )
    assert result.exit_code == 0, result.output
    nina = agents.authenticate(cli_session, login="newbie", password="s3cret-pass")
    assert nina is not None
    assert nina.first_name == "Nina"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--password", "short"), "at least 8 characters"),
        (("--password", "long-enough", "--grant", "raw"), "GROUP:PERM"),
        (("--password", "long-enough", "--grant", "nosuchgroup:rw"), "no group named 'nosuchgroup'"),
        (("--password", "long-enough", "--grant", "raw:fly"), "is not one of"),
    ],
)
def test_user_create_errors_are_messages_not_traces(cli, args, message):
    cli("db", "upgrade")
    cli("seed", "demo")  # the group "raw" must exist, whichever tests ran before on this worker
    result = cli("user", "create", "broken-user", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_user_token_prints_a_token_that_authenticates_and_expires(cli, cli_session):
    cli("db", "upgrade")
    cli("seed", "demo")
    result = cli("user", "token", "alice", "--expires-days", "1")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("tf_")
    assert agents.authenticate_token(cli_session, token=token).login == "alice"
    stored = cli_session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored  # only the hash is kept
    row = cli_session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    row.expires_at = utcnow() - timedelta(seconds=1)
    cli_session.flush()
    assert agents.authenticate_token(cli_session, token=token) is None


def test_customer_token_prints_a_token_of_the_customer_user(cli, cli_session):
    cli("db", "upgrade")
    cli("seed", "demo")
    result = cli("customer", "token", "John.Doe@acme.example", "--expires-days", "30")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("tf_")
    owner = agents.authenticate_token(cli_session, token=token)
    assert isinstance(owner, CustomerUser)
    assert owner.email == "john.doe@acme.example"
    row = cli_session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    assert (row.agent_id, row.customer_user_id) == (None, owner.id)
    assert row.expires_at is not None
    assert token not in cli_session.scalars(select(ApiToken.token_hash)).all()


def test_customer_token_for_an_unknown_address_is_a_message(cli):
    cli("db", "upgrade")
    result = cli("customer", "token", "nobody@nowhere.example")
    assert result.exit_code != 0
    assert "no customer user" in result.output
    assert "Traceback" not in result.output


def test_queue_create_under_an_existing_parent(cli, cli_session):
    cli("db", "upgrade")
    cli("seed", "demo")
    result = cli(
        "queue", "create", "Tennis::Kids", "--group", "tennis", "--address", "Kids@SportClub.example"
    )
    assert result.exit_code == 0, result.output
    created = cli_session.scalars(select(Queue).where(Queue.name == "Tennis::Kids")).one()
    assert created.parent.name == "Tennis"
    assert created.system_address == "kids@sportclub.example"
    missing_parent = cli("queue", "create", "Nowhere::Child", "--group", "tennis")
    assert missing_parent.exit_code != 0
    assert "create the parent queue Nowhere first" in missing_parent.output
