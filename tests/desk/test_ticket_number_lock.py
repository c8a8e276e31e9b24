"""Ticket numbers hold no lock across the transaction that opens the ticket (issue 16).

A mail is one transaction: parse, customer, ticket, article, process.  When the day's
counter row stayed locked until that transaction committed, every other worker waited for
it.  Here one transaction opens a ticket and stays open while a second one opens another.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.numbers import is_valid_number
from tests.conftest import TEST_DB

pytestmark = pytest.mark.skipif(TEST_DB != "postgresql", reason="SQLite has a single writer anyway")

LOCKS_ON_COUNTER = text(
    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
    "WHERE l.pid = :pid AND c.relname LIKE '%ticket_number_counter%'"
)


def _open_ticket(session: Session, title: str) -> str:
    raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
    return tickets.create_ticket(session, actor=SYSTEM, title=title, queue=raw).number


def test_a_second_transaction_gets_its_number_while_the_first_is_still_open(engine):
    first = Session(bind=engine)
    second = Session(bind=engine)
    try:
        first_number = _open_ticket(first, "first, still open")
        first_pid = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as observer:
            # The open transaction holds nothing on the counter (neither the table nor its key).
            assert observer.execute(LOCKS_ON_COUNTER, {"pid": first_pid}).scalar_one() == 0

        # Were the counter row still locked by the first transaction, this would fail
        # after a second instead of waiting for it.
        second.execute(text("SET lock_timeout = '1s'"))
        second_number = _open_ticket(second, "second, while the first is open")

        assert first_number != second_number
        assert is_valid_number(first_number)
        assert is_valid_number(second_number)
        assert first_number[:10] == second_number[:10]  # same day, same system id
        assert int(second_number[10:15]) > int(first_number[10:15])
    finally:
        first.rollback()
        second.rollback()
        first.close()
        second.close()
