"""The ticket view sends a fixed number of SQL statements, whatever its size (issue 16).

Statements are counted with a ``before_cursor_execute`` listener on the test engine; the
savepoints the test harness wraps each request in are not the page's work and are left out.
"""

from __future__ import annotations

from sqlalchemy import select

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.article import service as articles
from desk.article.service import AttachmentDraft
from desk.ticket.models import Ticket
from engine import definitions, runtime
from tests.query_count import count_statements, page_statements

# What the page needs, each once (issue 16's target is 15): the session with its agent and
# their roles (1); the ticket with its queue, group, state, customer and priority name (1);
# the reader's rights (1); the "seen" marker (1, an upsert); the articles and all their
# attachments (2); the process instances and the open and completed tasks (2); every queue
# (1, the task form's queue picker); deliveries, history, links (3); the header: the
# agent's availability, the unread count and who of the owner list is away (1).  Then the
# open form's lists: the reply form's templates (1) and the salutation, signature and their
# wording in the customer's language (1), or the owner form's agents and all their rights
# (2).  A new piece of the page may need a statement more (say so here); a per-article or
# per-agent statement makes the two sizes differ and fails below anyway.
VIEW_STATEMENT_BUDGET = 15


def _grow(
    session, ticket: Ticket, *, first_article: int, article_count: int, first_agent: int, agent_count: int
) -> None:
    """Articles with a file and an inline image each, and agents with rights on the queue."""
    for n in range(first_article, first_article + article_count):
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=ticket,
            channel="note",
            body_text=f"article number {n}",
            attachments=[
                AttachmentDraft(
                    filename=f"file-{n}.txt", content_type="text/plain", data=f"data {n}".encode()
                ),
                AttachmentDraft(
                    filename=f"logo-{n}.png",
                    content_type="image/png",
                    data=b"png %d" % n,
                    is_inline=True,
                    content_id=f"<logo{n}@example>",
                ),
            ],
        )
    for n in range(first_agent, first_agent + agent_count):
        extra = agents.create_agent(
            session, actor=SYSTEM, login=f"owner{n}", password=None, first_name="Owner", last_name=f"Nr{n}"
        )
        agents.grant_group(session, actor=SYSTEM, agent=extra, group=ticket.queue.group, permissions=["rw"])
    session.flush()


def _view(client, engine, url: str) -> tuple[list[str], str]:
    with count_statements(engine) as statements:
        html = client.get(url).text
    return page_statements(statements), html


def test_the_ticket_view_takes_the_same_statements_whatever_its_size(client, login, session, engine):
    definitions.deploy_directory(session, actor=SYSTEM)
    ticket = session.scalars(select(Ticket).where(Ticket.title == "I forgot my password")).one()
    runtime.start(session, actor=SYSTEM, ticket=ticket)
    # The owner form open: its agent lists are the page's largest part (the toolbar's other
    # forms are fetched one at a time, each with less).
    url = f"/tickets/{ticket.id}?action=owner"
    login("admin")
    _grow(session, ticket, first_article=0, article_count=5, first_agent=0, agent_count=2)
    # Owned by and in the responsibility of others than the signed-in agent: their names show
    # without statements of their own (nor their roles').
    ticket.owner = agents.get_agent(session, login="owner0")
    ticket.responsible = agents.get_agent(session, login="owner1")
    session.flush()
    small, small_html = _view(client, engine, url)
    _grow(session, ticket, first_article=5, article_count=35, first_agent=2, agent_count=10)
    large, large_html = _view(client, engine, url)

    # The pages show everything they were asked for ...
    assert small_html.count("article number") == 5
    assert large_html.count("article number") == 40
    assert "file-39.txt" in large_html
    assert "Triage" in large_html
    assert "Owner Nr11" in large_html
    facts = large_html.split('class="facts"', 1)[1].split("</dl>", 1)[0]
    assert "Owner Nr0" in facts
    assert "Owner Nr1" in facts
    # ... with the same statements for 5 articles and 2 extra agents as for 40 and 12.
    assert len(large) == len(small), "\n".join(large)
    assert len(large) <= VIEW_STATEMENT_BUDGET, "\n".join(large)
    # The page as it opens (the reply form with its templates) stays within the budget too.
    default, default_html = _view(client, engine, f"/tickets/{ticket.id}")
    assert 'id="reply-body"' in default_html
    assert len(default) <= VIEW_STATEMENT_BUDGET, "\n".join(default)
