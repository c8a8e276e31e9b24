"""Ticket numbers in the OTRS DateChecksum style: ``YYYYMMDD`` + system id + counter + check digit.

The counter is one row per day, bumped with a single ``INSERT … ON CONFLICT DO UPDATE …
RETURNING`` statement, so numbers stay unique across processes and machines.

On PostgreSQL the bump runs in a short transaction of its own, on a connection of a small
pool kept for it, and commits at once: the row lock lasts one statement, not the whole mail
transaction that opens the ticket, so concurrent workers do not queue behind each other.  A
ticket whose transaction then rolls back leaves a gap in the day's numbers, which is harmless
(numbers are unique, not dense).  SQLite has a single writer anyway, and a second connection
would wait for the first one's write lock, so there the bump stays in the caller's transaction.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, create_engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from desk.ticket.models import TicketNumberCounter


def check_digit(digits: str) -> int:
    """A weighted mod-10 check digit (weights 1, 2, 1, 2…); catches any single-digit error."""
    total = 0
    for position, char in enumerate(digits):
        value = int(char) * (1 if position % 2 == 0 else 2)
        total += value // 10 + value % 10
    return (10 - total % 10) % 10


def is_valid_number(number: str) -> bool:
    """True when ``number`` has the shape of a ticket number and its check digit fits."""
    return number.isdigit() and len(number) >= 16 and check_digit(number[:-1]) == int(number[-1])


def next_number(session: Session, *, system_id: str, now: datetime) -> str:
    """Allocate the next ticket number for the day of ``now`` (UTC)."""
    day = now.strftime("%Y%m%d")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        with _counter_engine(bind).connect() as connection:
            counter = connection.execute(_bump(day, "postgresql")).scalar_one()
            connection.commit()
    else:
        counter = session.execute(_bump(day, "sqlite")).scalar_one()
    body = f"{day}{system_id}{counter:05d}"
    return f"{body}{check_digit(body)}"


def _bump(day: str, dialect: str) -> ReturningInsert[tuple[int]]:
    table = TicketNumberCounter.__table__
    assert isinstance(table, Table)  # noqa: S101 (narrows the type for mypy)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(table)
        .values(day=day, value=1)
        .on_conflict_do_update(index_elements=["day"], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )


_counter_engines: dict[str, Engine] = {}
_counter_engines_lock = threading.Lock()


def _counter_engine(bind: Engine | Connection) -> Engine:
    """A small pool of its own for the counter, per database.

    Not the caller's pool: a caller holds one of its connections while it asks for a number,
    so with every connection of a full pool held, asking that pool for one more would wait
    for ever.  The counter's connections are held for one statement and never wait on others.
    """
    engine = bind.engine if isinstance(bind, Connection) else bind
    key = engine.url.render_as_string(hide_password=False)
    with _counter_engines_lock:
        found = _counter_engines.get(key)
        if found is None:
            found = create_engine(engine.url, pool_size=2, max_overflow=8, pool_pre_ping=True)
            _counter_engines[key] = found
    return found
