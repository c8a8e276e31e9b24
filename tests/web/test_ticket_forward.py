"""Forwarding an article: an internal e-mail article and a mail in the outbox (rw; to a
customer's address also *may contact customers*, see tests/web/test_customer_contact_rule.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from desk.article import service as articles
from desk.article.models import Article
from desk.outbox.models import OutboxMessage
from desk.ticket.models import Ticket
from tests.web.conftest import csrf_token_in


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def forward(client, ticket: Ticket, **data):
    page = client.get(f"/tickets/{ticket.id}").text
    return client.post(f"/tickets/{ticket.id}/forward", data={"csrf_token": csrf_token_in(page), **data})


def outbox_count(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_the_form_is_offered_with_rw(client, login, session):
    login("secretary")

    ticket = ticket_titled(session, "I forgot my password")
    assert 'data-action="forward"' in client.get(f"/tickets/{ticket.id}").text  # in the toolbar
    page = client.get(f"/tickets/{ticket.id}?action=forward").text

    assert 'name="to" type="email"' in page
    assert "Forward article" in page


def test_forwarding_the_last_article_queues_a_mail_and_keeps_it_internal(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    last = session.scalars(
        select(Article).where(Article.ticket_id == ticket.id).order_by(Article.id.desc())
    ).first()
    login("secretary")

    response = forward(client, ticket, to="specialist@partner.example", comment="Can you help?")

    assert response.status_code == 303
    session.expire_all()
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_addr == "specialist@partner.example")
    ).one()
    article = session.get(Article, message.article_id)
    # The mail is composed from the article: the outbox row keeps only the envelope.
    assert ticket.number in article.subject
    assert message.ticket_id == ticket.id
    assert article.body_text.startswith("Can you help?")
    assert last.body_text in article.body_text
    assert article.channel == "email"
    assert not article.is_visible_for_customer
    assert article.to_addr == "specialist@partner.example"
    assert article.message_id == message.message_id
    # The customer does not see it.
    visible = articles.list_articles(session, actor=ticket.customer_user, ticket=ticket)
    assert article.id not in {a.id for a in visible}


def test_a_chosen_article_is_forwarded(client, login, session, agent):
    ticket = ticket_titled(session, "I forgot my password")
    first = session.scalars(
        select(Article).where(Article.ticket_id == ticket.id).order_by(Article.id)
    ).first()
    articles.add_article(session, actor=agent("secretary"), ticket=ticket, channel="note", body_text="newer")
    session.flush()
    login("secretary")

    response = forward(client, ticket, to="a@b.example", article=str(first.id))

    assert response.status_code == 303
    session.expire_all()
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == "a@b.example")).one()
    assert first.body_text in message.article.body_text
    assert "newer" not in message.article.body_text


def test_an_invalid_address_is_refused(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("secretary")
    before = outbox_count(session)

    forward(client, ticket, to="nobody")

    assert outbox_count(session) == before


def test_forwarding_needs_rw_but_not_may_contact_customers(client, login, session, agent):
    ticket = ticket_titled(session, "I forgot my password")  # Raw
    secretary = agent("secretary")
    secretary.may_contact_customers = False
    session.flush()
    login("secretary")

    response = forward(client, ticket, to="third.party@example.org")

    assert response.status_code == 303
    assert outbox_count(session) >= 1
    assert "Forward article" in client.get(f"/tickets/{ticket.id}?action=forward").text


def test_the_observer_and_an_agent_without_rw_are_refused(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")  # Raw: Alice has ro and move_into
    before = outbox_count(session)

    login("observer")
    assert "Forward article" not in client.get(f"/tickets/{ticket.id}?action=forward").text
    assert 'data-action="forward"' not in client.get(f"/tickets/{ticket.id}").text
    assert forward(client, ticket, to="x@example.org").status_code == 403

    client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/").text)})
    login("alice")
    assert forward(client, ticket, to="x@example.org").status_code == 403
    assert outbox_count(session) == before
