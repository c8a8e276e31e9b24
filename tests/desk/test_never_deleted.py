"""A ticket is never deleted (property 1): no service, no command, no ORM path removes anything."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator

import click
import pytest
from sqlalchemy import func, select

import desk
from core.errors import DeletionForbidden
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.article.models import Article, Attachment
from desk.article.service import AttachmentDraft
from desk.blob import service as blobs
from desk.blob.models import Blob
from desk.history import service as history
from desk.history.models import History
from desk.rawmail.models import RawMail
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from ticketflow.cli import main as cli_main

FORBIDDEN_WORDS = ("delete", "remove", "purge", "destroy", "drop")


def _forbidden(names: list[str]) -> list[str]:
    return [name for name in names if any(word in name.lower() for word in FORBIDDEN_WORDS)]


def _rows(session, model, pk_column, pk) -> int:
    """Count rows on the session's connection directly: no autoflush, no identity map."""
    statement = select(func.count()).select_from(model).where(pk_column == pk)
    return session.connection().execute(statement).scalar_one()


# --- the ORM refuses deletes -------------------------------------------------------------


@pytest.fixture
def stored(session, agent, make_ticket):
    """A ticket with an article, an attachment, history and the raw mail it came from."""
    ticket = make_ticket("1st level")
    raw = RawMail(
        blob_sha256=blobs.store(session, data=b"From: john.doe@acme.example\r\n\r\nHelp"),
        source="smtp",
        size=40,
        ticket_id=ticket.id,
    )
    session.add(raw)
    session.flush()
    article = articles.add_article(
        session,
        actor=agent("alice"),
        ticket=ticket,
        channel="note",
        body_text="Screenshot attached.",
        raw_mail=raw,
        attachments=[AttachmentDraft("screen.png", "image/png", b"\x89PNG fake")],
    )
    return {
        "ticket": (Ticket, Ticket.id, ticket),
        "article": (Article, Article.id, article),
        "attachment": (Attachment, Attachment.id, article.attachments[0]),
        "history": (History, History.id, history.for_ticket(session, ticket=ticket)[-1]),
        "raw mail": (RawMail, RawMail.id, raw),
        "blob": (Blob, Blob.sha256, session.get(Blob, raw.blob_sha256)),
    }


@pytest.mark.parametrize("kind", ["ticket", "article", "attachment", "history", "raw mail", "blob"])
def test_deleting_through_the_orm_is_refused(session, stored, kind):
    model, pk_column, obj = stored[kind]
    pk = getattr(obj, pk_column.key)
    assert _rows(session, model, pk_column, pk) == 1

    session.delete(obj)
    with pytest.raises(DeletionForbidden):
        session.flush()

    assert _rows(session, model, pk_column, pk) == 1


def test_a_refused_delete_leaves_the_whole_ticket_readable(session, stored):
    _, _, ticket = stored["ticket"]
    session.delete(ticket)
    with pytest.raises(DeletionForbidden):
        session.flush()
    session.expunge(ticket)

    again = tickets.get_ticket(session, actor=SYSTEM, ticket_id=ticket.id)
    assert [a.body_text for a in articles.list_articles(session, actor=SYSTEM, ticket=again)] == [
        "Please help.",
        "Screenshot attached.",
    ]


# --- no service offers a delete ----------------------------------------------------------


def _service_modules() -> Iterator[object]:
    for info in pkgutil.walk_packages(desk.__path__, prefix="desk."):
        if info.name.rsplit(".", 1)[-1] == "service":
            yield importlib.import_module(info.name)


def _public_functions(module) -> list[str]:
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == module.__name__
    ]


def test_the_word_check_catches_what_it_should():
    assert _forbidden(
        ["delete_ticket", "removeArticle", "purge", "drop_queue", "destroy", "revoke_token"]
    ) == [
        "delete_ticket",
        "removeArticle",
        "purge",
        "drop_queue",
        "destroy",
    ]


def test_no_service_function_deletes():
    modules = {m.__name__: _public_functions(m) for m in _service_modules()}

    # The walk really covers the domain: otherwise the check below would pass on nothing.
    assert {"desk.ticket.service", "desk.article.service", "desk.history.service"} <= set(modules)
    assert {"desk.permission.service", "desk.queue.service", "desk.agent.service"} <= set(modules)
    assert {"merge", "split", "add_article", "record"} <= {f for funcs in modules.values() for f in funcs}
    offending = {
        name: found
        for name, funcs in modules.items()
        if (found := [f for f in _forbidden(funcs) if f not in DISPOSABLE.get(name, set())])
    }
    assert offending == {}


# An agent's own list settings are not records of the desk: deleting a saved view loses no
# ticket, article or history (those stay, and the database refuses their deletion).
DISPOSABLE = {"desk.saved_view.service": {"delete_view"}}


def _commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        yield path
        if isinstance(command, click.Group):
            yield from _commands(command, path)


def test_no_cli_command_deletes():
    commands = list(_commands(cli_main))

    assert {"db upgrade", "seed demo", "user create", "queue create"} <= set(commands)
    assert _forbidden(commands) == []


# --- merging keeps everything --------------------------------------------------------------


def test_merge_keeps_every_article_and_the_merged_ticket(session, agent, make_ticket):
    alice = agent("alice")
    duplicate, target = make_ticket("1st level"), make_ticket("1st level")
    articles.add_article(session, actor=alice, ticket=duplicate, channel="note", body_text="Same outage.")
    before = {
        t.id: [a.id for a in articles.list_articles(session, actor=SYSTEM, ticket=t)]
        for t in (duplicate, target)
    }
    history_before = len(history.for_ticket(session, ticket=duplicate))
    assert len(before[duplicate.id]) == 2

    tickets.merge(session, actor=alice, ticket=duplicate, into=target)

    after_target = [a.id for a in articles.list_articles(session, actor=SYSTEM, ticket=target)]
    assert sorted(after_target) == sorted(before[duplicate.id] + before[target.id])
    assert articles.list_articles(session, actor=SYSTEM, ticket=duplicate) == []
    session.expire_all()
    merged = tickets.get_ticket(session, actor=alice, ticket_id=duplicate.id)
    assert merged.state.type == "merged"
    assert merged.merged_into_id == target.id
    assert len(history.for_ticket(session, ticket=merged)) == history_before + 1
    assert _rows(session, Ticket, Ticket.id, duplicate.id) == 1
