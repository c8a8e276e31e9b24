"""Database plumbing: the declarative base, engines, sessions and after-commit hooks.

Services receive a :class:`~sqlalchemy.orm.Session` and only ``flush()``; the edge (a web
request, a job, a CLI command) opens :func:`session_scope`, which commits once and then runs
the side effects registered with :func:`after_commit` (mail, job messages), so nothing leaves
the process for a transaction that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from core.errors import Conflict

log = logging.getLogger(__name__)

CONCURRENT_CHANGE = "someone else changed this at the same time; reload and try again"

# Stable constraint names so Alembic migrations are identical on PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every mapped model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps no zone, PostgreSQL does; without this the same code would compare naive
    and aware datetimes depending on the database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC values")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings Ticketflow needs on each database."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN
            # itself (below).  Foreign keys are off by default in SQLite; WAL lets the web
            # and the in-process worker read while one writes; busy_timeout waits.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
            # instead of one failing when it upgrades a read lock.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database)."""
    from core.config import get_settings

    settings = get_settings()
    if url is None:
        url = settings.database_url
        if url.startswith("sqlite:///"):
            settings.var_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


_AFTER_COMMIT_KEY = "ticketflow.after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's outermost transaction has committed.

    A callback registered inside a savepoint that is rolled back is dropped with it; one
    registered anywhere is dropped when the whole transaction rolls back.
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append((transaction, callback))


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        # Only a savepoint was released (SQLAlchemy fires after_commit for those too): the
        # data is not committed yet, so nothing may leave the process.
        return
    pending: list[tuple[SessionTransaction | None, Callable[[], None]]] = session.info.pop(
        _AFTER_COMMIT_KEY, []
    )
    for _, callback in pending:
        try:
            callback()
        except Exception:
            # The data is committed; a failed side effect is recovered by a periodic sweep
            # (outbox, timers), so it must not turn a successful request into an error.
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT_KEY, None)
        return
    pending = session.info.get(_AFTER_COMMIT_KEY, [])
    session.info[_AFTER_COMMIT_KEY] = [(t, c) for t, c in pending if not _within(t, previous_transaction)]


# Called with every session :func:`session_scope` opens; the composition root registers the
# permission memo here (core knows nothing of permissions).
_UNIT_OF_WORK_HOOKS: list[Callable[[Session], None]] = []


def on_unit_of_work(hook: Callable[[Session], None]) -> None:
    """Call ``hook`` with each session :func:`session_scope` opens, before it is used (idempotent)."""
    if hook not in _UNIT_OF_WORK_HOOKS:
        _UNIT_OF_WORK_HOOKS.append(hook)


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """A unit of work: commit at the end, roll back on any error."""
    if factory is None:
        factory = make_sessionmaker(get_engine())
    session = factory()
    for hook in _UNIT_OF_WORK_HOOKS:
        hook(session)
    try:
        yield session
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict(CONCURRENT_CHANGE) from None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
