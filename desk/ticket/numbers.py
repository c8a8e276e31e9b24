"""Ticket numbers in the OTRS DateChecksum style: ``YYYYMMDD`` + system id + counter + check digit.

The counter is one row per day, bumped with a single ``INSERT … ON CONFLICT DO UPDATE …
RETURNING`` statement.  The database serialises concurrent bumps on that row, so numbers stay
unique across processes and machines without any table lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

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
    table = TicketNumberCounter.__table__
    assert isinstance(table, Table)  # noqa: S101 (narrows the type for mypy)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(day=day, value=1)
        .on_conflict_do_update(index_elements=["day"], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    counter = session.execute(statement).scalar_one()
    body = f"{day}{system_id}{counter:05d}"
    return f"{body}{check_digit(body)}"
