"""What a user would notice of a ticket, as plain data that two channels can be compared on."""

from __future__ import annotations

import hashlib
from email import message_from_bytes, policy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.agent.models import Agent
from desk.article.models import Article, Attachment
from desk.history.models import History
from desk.outbox.models import OutboxMessage
from desk.ticket.models import Ticket
from engine.models import HumanTask, ProcessInstance, ProcessMessage
from mail.outbound.compose import compose


def _author(session: Session, article: Article) -> str | None:
    if article.created_by_agent_id is not None:
        agent = session.get(Agent, article.created_by_agent_id)
        return f"agent:{agent.login if agent else '?'}"
    if article.created_by_customer_id is not None:
        return "customer"
    return None


def mail_parts(session: Session, row: OutboxMessage) -> dict[str, Any]:
    """The composed mail as the recipient reads it: decoded headers and each part's bytes."""
    parsed = message_from_bytes(bytes(compose(row, session=session)), policy=policy.default)
    parts = []
    for part in parsed.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        parts.append(
            {
                "type": part.get_content_type(),
                "filename": part.get_filename(),
                "sha256": hashlib.sha256(payload).hexdigest(),
                **({"text": part.get_content().strip()} if part.get_content_maintype() == "text" else {}),
            }
        )
    return {
        "from": str(parsed["From"]),
        "to": str(parsed["To"]),
        "cc": str(parsed["Cc"] or ""),
        "subject": str(parsed["Subject"]).replace(_number(session, row), "<number>"),
        "auto_submitted": parsed["Auto-Submitted"],
        "parts": parts,
    }


def _number(session: Session, row: OutboxMessage) -> str:
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    return ticket.number if ticket is not None else "\x00"


def snapshot(
    session: Session, ticket: Ticket, *, since_article: int = 0, since_history: int = 0
) -> dict[str, Any]:
    """The ticket's state and everything written for it after the given ids."""
    session.expire_all()
    ticket = session.get(Ticket, ticket.id)  # type: ignore[assignment]
    articles = session.scalars(
        select(Article).where(Article.ticket_id == ticket.id, Article.id > since_article).order_by(Article.id)
    ).all()
    outbox = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.ticket_id == ticket.id)
        .join(Article, Article.id == OutboxMessage.article_id)
        .where(Article.id > since_article)
        .order_by(OutboxMessage.id)
    ).all()
    history = session.scalars(
        select(History.type)
        .where(History.ticket_id == ticket.id, History.id > since_history)
        .order_by(History.id)
    ).all()
    return {
        "state": ticket.state.name,
        "pending": ticket.pending_until is not None,
        "queue": ticket.queue.name,
        "priority": ticket.priority,
        "owner": ticket.owner.login if ticket.owner else None,
        "locked_by": ticket.locked_by.login if ticket.locked_by else None,
        "customer": ticket.customer_user.email if ticket.customer_user else None,
        "merged_into": ticket.merged_into.title if ticket.merged_into else None,
        "articles": [
            {
                "channel": a.channel,
                "sender_type": a.sender_type,
                "visible": a.is_visible_for_customer,
                "author": _author(session, a),
                "subject": a.subject.replace(ticket.number, "<number>"),
                "body": a.body_text,
                "from": a.from_addr,
                "to": a.to_addr,
                "attachments": [
                    (f.filename, f.content_type, f.blob_sha256)
                    for f in session.scalars(
                        select(Attachment).where(Attachment.article_id == a.id).order_by(Attachment.id)
                    )
                ],
            }
            for a in articles
        ],
        "outbox": [{"status": o.status, "to": o.to_addr, "mail": mail_parts(session, o)} for o in outbox],
        "history": list(history),
        "process_messages": [
            (m.name, m.status)
            for m in session.scalars(
                select(ProcessMessage)
                .where(ProcessMessage.ticket_id == ticket.id)
                .order_by(ProcessMessage.id)
            )
        ],
        "instances": [
            (i.process_version.process_id, i.status)
            for i in session.scalars(
                select(ProcessInstance)
                .where(ProcessInstance.ticket_id == ticket.id)
                .order_by(ProcessInstance.id)
            )
        ],
        "open_tasks": sorted(
            session.scalars(
                select(HumanTask.name).where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
            )
        ),
    }


def marks(session: Session) -> tuple[int, int]:
    """The newest article and history ids: what a snapshot ``since`` should start after."""
    from sqlalchemy import func

    return (
        session.scalar(select(func.coalesce(func.max(Article.id), 0))) or 0,
        session.scalar(select(func.coalesce(func.max(History.id), 0))) or 0,
    )
