"""Nothing is deleted, even past the ORM: the database itself refuses (migration 0009).

``desk.guards`` stops ``session.delete()``; these statements never pass through it — raw
SQL on the session's connection and bulk ORM ``delete()`` / ``update()`` — and each is
refused by a trigger, on PostgreSQL and on SQLite, with the rows still there afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import make_engine, make_sessionmaker, session_scope
from core.migrate import upgrade
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.article.models import Article, Attachment
from desk.article.service import AttachmentDraft
from desk.blob import service as blobs
from desk.blob.models import Blob
from desk.demo import seed_demo
from desk.history.models import History
from desk.queue import service as queues
from desk.rawmail.models import RawMail
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from tests.conftest import TEST_DB

# table name → (model, primary-key column name)
GUARDED = {
    "ticket": (Ticket, "id"),
    "article": (Article, "id"),
    "attachment": (Attachment, "id"),
    "raw_mail": (RawMail, "id"),
    "blob": (Blob, "sha256"),
    "ticket_history": (History, "id"),
}


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A SQLite database migrated to head with the demo data, for this module only."""
    path: Path = tmp_path_factory.mktemp("guards") / "guards.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as setup:
        seed_demo(setup)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session on either database, inside a transaction rolled back at the end."""
    if request.param == "postgresql":
        yield request.getfixturevalue("session")
        return
    connection = request.getfixturevalue("sqlite_engine").connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def stored(db: Session) -> dict[str, Any]:
    """One row of every guarded table: a ticket from a raw mail, with an attachment and history."""
    ticket = tickets.create_ticket(
        db, actor=SYSTEM, title="Printer is on fire", queue=queues.get_queue(db, name="Raw")
    )
    raw = RawMail(
        blob_sha256=blobs.store(db, data=b"From: john.doe@acme.example\r\n\r\nFire!"),
        source="smtp",
        size=41,
        ticket_id=ticket.id,
    )
    db.add(raw)
    db.flush()
    article = articles.add_article(
        db,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        body_text="Fire!",
        raw_mail=raw,
        attachments=[AttachmentDraft("fire.jpg", "image/jpeg", b"\xff\xd8 not really")],
    )
    history = db.scalars(select(History).where(History.ticket_id == ticket.id)).first()
    assert history is not None
    return {
        "ticket": ticket.id,
        "article": article.id,
        "attachment": article.attachments[0].id,
        "raw_mail": raw.id,
        "blob": raw.blob_sha256,
        "ticket_history": history.id,
    }


def _count(db: Session, table: str, pk: Any) -> int:
    model, column = GUARDED[table]
    statement = select(func.count()).select_from(model).where(getattr(model, column) == pk)
    return int(db.connection().execute(statement).scalar_one())


def _refused(db: Session, statement: Any, params: dict[str, Any] | None = None) -> str:
    """Run ``statement`` in a savepoint; it must be refused.  Returns the database's message."""
    savepoint = db.begin_nested()
    with pytest.raises(IntegrityError) as refusal:
        db.execute(statement, params or {})
    savepoint.rollback()
    message = str(refusal.value.orig)
    # A foreign key would refuse some deletes too; the trigger must be what said no.
    assert "Ticketflow never" in message
    return message


@pytest.mark.parametrize("table", list(GUARDED))
def test_a_raw_sql_delete_is_refused_by_the_database(db, stored, table):
    _, column = GUARDED[table]
    assert _count(db, table, stored[table]) == 1

    statement = text(f"DELETE FROM {table} WHERE {column} = :pk")  # noqa: S608 (names from GUARDED)

    message = _refused(db, statement, {"pk": stored[table]})

    assert f"never deletes {table} rows" in message
    assert _count(db, table, stored[table]) == 1


@pytest.mark.parametrize("table", list(GUARDED))
def test_a_bulk_orm_delete_bypassing_the_guard_is_refused(db, stored, table):
    model, column = GUARDED[table]

    _refused(db, delete(model).where(getattr(model, column) == stored[table]))

    assert _count(db, table, stored[table]) == 1


def test_deleting_every_ticket_at_once_is_refused(db, stored):
    before = db.connection().execute(select(func.count()).select_from(Ticket)).scalar_one()

    _refused(db, text("DELETE FROM ticket"))

    assert db.connection().execute(select(func.count()).select_from(Ticket)).scalar_one() == before


def test_history_rows_cannot_be_rewritten(db, stored):
    pk = stored["ticket_history"]

    message = _refused(db, update(History).where(History.id == pk).values(comment="nothing happened"))
    _refused(db, text("UPDATE ticket_history SET actor_name = 'someone else' WHERE id = :pk"), {"pk": pk})

    assert "never changes ticket_history rows" in message
    entry = db.connection().execute(select(History.comment, History.actor_name).where(History.id == pk)).one()
    assert entry.actor_name != "someone else"
    assert entry.comment != "nothing happened"


def test_stored_bytes_cannot_be_swapped_under_their_hash(db, stored):
    sha = stored["blob"]

    _refused(db, update(Blob).where(Blob.sha256 == sha).values(data=b"something else"))

    assert blobs.read(db, sha256=sha) == b"From: john.doe@acme.example\r\n\r\nFire!"


def test_what_is_meant_to_change_still_changes(db, stored):
    """The triggers guard only deletes and history: tickets and articles are updated as always."""
    db.execute(update(Ticket).where(Ticket.id == stored["ticket"]).values(title="Printer was on fire"))
    db.execute(update(Article).where(Article.id == stored["article"]).values(subject="Fire"))
    db.flush()
    title = select(Ticket.title).where(Ticket.id == stored["ticket"])
    assert db.connection().execute(title).scalar_one() == "Printer was on fire"


@pytest.mark.parametrize("table", list(GUARDED))
def test_truncate_is_refused_on_postgresql(session, table):
    if TEST_DB == "sqlite":
        pytest.skip("SQLite has no TRUNCATE")
    count = text(f"SELECT count(*) FROM {table}")  # noqa: S608 (names from GUARDED)
    before = session.connection().execute(count).scalar_one()

    message = _refused(session, text(f"TRUNCATE {table} CASCADE"))

    assert f"never deletes {table} rows (TRUNCATE refused)" in message
    assert session.connection().execute(count).scalar_one() == before
