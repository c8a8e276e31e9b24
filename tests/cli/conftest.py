"""Fixtures for CLI tests: a fresh database per test, on SQLite and on PostgreSQL.

Every command runs as a ``ticketflow`` subprocess (see :mod:`tests.subprocesses`), so nothing
this test process imported can hide a missing model, job or listener.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker
from tests.conftest import WORKER, create_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url_for_cli(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for the commands to set up: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    return create_pg_database(f"tf_cli_{module}_{WORKER}")


@pytest.fixture
def factory(database_url_for_cli: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on that database, to check what the commands left there."""
    engine = make_engine(database_url_for_cli)
    yield make_sessionmaker(engine)
    engine.dispose()
