"""The Alembic migrations build the schema from empty on both databases, with no drift."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from core.db import Base, make_engine
from core.migrate import alembic_config, current_revision, upgrade
from tests.conftest import WORKER, create_pg_database


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return create_pg_database(f"tf_migrate_{WORKER}")


def test_upgrade_from_empty_reaches_head_and_matches_the_models(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert current_revision(engine) == head
        assert {"ticket", "article", "ticket_history", "queue", "agent"} <= set(
            inspect(engine).get_table_names()
        )
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            drift = compare_metadata(context, Base.metadata)
        assert drift == [], f"models and migrations differ: {drift}"
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "base")
        assert "ticket" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert "ticket" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
