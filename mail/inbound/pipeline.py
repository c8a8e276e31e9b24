"""From a stored raw mail to a ticket: parse, route, thread, answer, wake the process.

:func:`process_raw_mail` is idempotent and runs in one transaction: the ticket, its
article, the process message and any automatic answer are committed together with the raw
mail's ``processed`` status, or not at all.  Running it again for a processed mail does
nothing, so a worker killed at any moment loses nothing and duplicates nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import TicketflowError
from desk.actor import SYSTEM
from desk.article.models import Article
from desk.article.service import AttachmentDraft
from desk.blob import service as blobs
from desk.customer import service as customers
from desk.customer.models import CustomerUser
from desk.history import service as history
from desk.queue.models import Queue
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from flows.automatic_answer import AnswerTo
from flows.customer_message import customer_message, mark_article, third_party_message
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from mail.inbound import loops
from mail.inbound.parse import ParsedMail, parse_mail
from mail.inbound.threading import (
    Relation,
    request_token,
    sender_relation,
    ticket_by_headers,
    ticket_by_subject,
)

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "Raw"
NO_SUBJECT = "(no subject)"


@dataclass(frozen=True)
class Outcome:
    """What became of a raw mail."""

    ticket_id: int | None
    kind: str  # new_ticket, follow_up, automatic_reply, bounce, duplicate, already_processed, rejected


def process_raw_mail(session: Session, *, raw_mail_id: int) -> Outcome:
    """Turn the stored raw mail into a ticket or a follow-up (idempotent)."""
    raw = session.scalars(
        select(RawMail)
        .where(RawMail.id == raw_mail_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if raw.status == "processed":
        return Outcome(raw.ticket_id, "already_processed")
    raw.attempts += 1
    data = blobs.read(session, sha256=raw.blob_sha256)
    earlier = _earlier_copy(session, raw, data)
    if earlier is not None:
        return _done(raw, _duplicate(session, raw, earlier))
    parsed = parse_mail(data, envelope_from=raw.envelope_from)
    if _null_sender(raw):
        # The null sender of the envelope: bounces and other robots (RFC 5321).
        parsed.headers.setdefault("return-path", "<>")
    if parsed.is_bounce:
        outcome = _bounce(session, raw, parsed)
        if outcome is not None:
            return _done(raw, outcome)
    ticket = ticket_by_headers(session, parsed) or ticket_by_subject(session, parsed.subject)
    while ticket is not None and ticket.merged_into is not None:
        ticket = ticket.merged_into
    if ticket is not None:
        outcome = _follow_up(session, raw, parsed, ticket)
    else:
        outcome = _new_ticket(session, raw, parsed)
    _note_sender_source(session, raw, parsed)
    return _done(raw, outcome)


_SENDER_SOURCES = {
    "sender": "the Sender header",
    "reply-to": "the Reply-To header",
    "envelope": "the envelope sender",
}


def _note_sender_source(session: Session, raw: RawMail, parsed: ParsedMail) -> None:
    """Say in the history of each article of ``raw`` where its sender came from, if not From.

    An agent sees why an article has a sender its From does not name (or the mail had none).
    """
    source = _SENDER_SOURCES.get(parsed.sender_source)
    if source is None:
        return
    for article in session.scalars(select(Article).where(Article.raw_mail_id == raw.id)):
        note = f"no sender address in From: {parsed.from_addr} is from {source}"
        mark_article(session, article.ticket, article, note)


def _null_sender(raw: RawMail) -> bool:
    """Whether the envelope named the null sender ``<>``.

    SMTP always has an envelope, so an empty MAIL FROM is the null sender; the pipe stores
    ``<>`` when the MTA passed an empty ``--sender`` and nothing when it passed none.
    """
    sender = raw.envelope_from.strip()
    return sender == "<>" or (raw.source == "smtp" and not sender)


def _done(raw: RawMail, outcome: Outcome) -> Outcome:
    raw.status = "processed"
    raw.error = None
    raw.ticket_id = outcome.ticket_id
    raw.processed_at = utcnow()
    return outcome


# --- the same mail twice --------------------------------------------------------------


_SAME_MAIL_HEADERS = ("from", "to", "cc", "subject", "date", "content-type", "content-transfer-encoding")


def _fingerprint(data: bytes) -> tuple[tuple[str, ...], bytes]:
    """What two copies of one mail share: the body and the headers its author wrote."""
    data = data.replace(b"\r\n", b"\n")
    end = data.find(b"\n\n")
    head, body = (data[:end], data[end + 2 :]) if end >= 0 else (data, b"")
    headers = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n")
    values = tuple(
        f"{name}: {' '.join(str(value).split())}"
        for name in _SAME_MAIL_HEADERS
        for value in headers.get_all(name) or []
    )
    return values, body


def _earlier_copy(session: Session, raw: RawMail, data: bytes) -> RawMail | None:
    """A processed raw mail that is this very mail, arrived another way (e.g. a second mailbox).

    Its bytes differ only in trace headers such as Received or Delivered-To: it has the same
    Message-ID, body, sender, recipients, subject and date.
    """
    if raw.message_id is None:
        return None
    candidates = session.scalars(
        select(RawMail)
        .where(
            RawMail.message_id == raw.message_id,
            RawMail.id != raw.id,
            RawMail.status == "processed",
            RawMail.ticket_id.is_not(None),
        )
        .order_by(RawMail.id)
        .limit(20)
    )
    fingerprint = _fingerprint(data)
    for candidate in candidates:
        if _fingerprint(blobs.read(session, sha256=candidate.blob_sha256)) == fingerprint:
            return candidate
    return None


def _duplicate(session: Session, raw: RawMail, earlier: RawMail) -> Outcome:
    ticket = session.get(Ticket, earlier.ticket_id)
    if ticket is not None:
        history.record(
            session,
            ticket=ticket,
            actor=SYSTEM,
            type="ProcessMessage",
            new=f"raw mail {raw.id}",
            comment=f"the same mail arrived again (first as raw mail {earlier.id}); not added twice",
        )
    return Outcome(earlier.ticket_id, "duplicate")


# --- new tickets -----------------------------------------------------------------------


def _queue_for(session: Session, raw: RawMail, parsed: ParsedMail) -> Queue:
    """The queue of the first system address among To, Cc, then the envelope recipients.

    The headers come first: they say whom the author wrote to, in the author's order (an MTA
    lists the envelope recipients in any order).  The envelope (SMTP's RCPT TO, the pipe's
    ``--recipient``, an IMAP mailbox's own address) is all there is of a Bcc recipient or
    of a mail forwarded from an alias, so it routes when no header names a queue.
    """
    envelope = [a.strip().strip("<>").strip().lower() for a in raw.envelope_to.split(",")]
    recipients = [*parsed.to, *parsed.cc, *(a for a in envelope if a)]
    for address in recipients:
        queue = session.scalar(
            select(Queue).where(func.lower(Queue.system_address) == address, Queue.valid.is_(True))
        )
        if queue is not None:
            return queue
    fallback = session.scalar(select(Queue).where(Queue.name == DEFAULT_QUEUE, Queue.valid.is_(True)))
    if fallback is None:
        fallback = session.scalar(select(Queue).where(Queue.valid.is_(True)).order_by(Queue.id))
    if fallback is None:
        raise LookupError("there is no queue for inbound mail; create one first")
    return fallback


def _person_name(display_name: str) -> str:
    """The words of a display name that can be a person's name: never an address in it.

    A display name is the sender's free text; one that holds ``<someone@else>`` (a spoofing
    attempt) or quotes must not make a customer look like somebody else.
    """
    words = [w.strip("\"'<>()[],;") for w in display_name.split()]
    return " ".join(w for w in words if w and "@" not in w)


def _customer_for(session: Session, parsed: ParsedMail) -> CustomerUser | None:
    address = parsed.from_addr
    if "@" not in address:
        return None
    found = customers.find_by_email(session, email=address)
    if found is not None:
        return found
    first, _, last = _person_name(parsed.from_name).partition(" ")
    login = address
    holder = session.scalar(select(CustomerUser).where(CustomerUser.login == login))
    if holder is not None:
        # A concurrent first mail of this sender may have committed its customer between the
        # look-up above and this one (each statement sees the newest commits): that is the
        # same customer, not a reason for a second one.
        if holder.email.strip().lower() == address.strip().lower():
            return holder
        login = f"{address}#{utcnow().timestamp():.0f}"
    return customers.create_customer_user(
        session, actor=SYSTEM, email=address, login=login, first_name=first[:200], last_name=last[:200]
    )


def _new_ticket(session: Session, raw: RawMail, parsed: ParsedMail) -> Outcome:
    customer = _customer_for(session, parsed)
    relation: Relation = "customer" if customer else "unrelated"
    opened = open_ticket(
        session,
        actor=SYSTEM,
        queue=_queue_for(session, raw, parsed),
        title=parsed.subject or NO_SUBJECT,
        first=_draft(raw, parsed, relation),
        customer_user=customer,
        answer_to=_answer_to(parsed),
    )
    if customer is None:
        mark_article(session, opened.ticket, opened.article, f"sender not related to the ticket ({relation})")
    return Outcome(opened.ticket.id, "new_ticket")


# --- follow-ups ------------------------------------------------------------------------


def _follow_up(session: Session, raw: RawMail, parsed: ParsedMail, ticket: Ticket) -> Outcome:
    relation = sender_relation(session, ticket, parsed.from_addr)
    draft = _draft(raw, parsed, relation)
    automatic = loops.automatic_reply_reason(parsed)
    if automatic is not None:
        # A vacation notice or a bounce is not the customer's (nor a specialist's) answer:
        # kept on the ticket, internal, but it neither reopens the ticket nor wakes a process.
        third_party_message(
            session,
            ticket=ticket,
            draft=draft,
            request_token=None,
            note=f"automatic reply ({automatic}): the ticket was left as it was",
        )
        return Outcome(ticket.id, "automatic_reply")
    if relation == "customer":
        delivered = customer_message(
            session,
            actor=SYSTEM,
            ticket=ticket,
            draft=draft,
            sender=customers.find_by_email(session, email=parsed.from_addr),
            answer_to=_answer_to(parsed),
        )
        return Outcome(delivered.ticket.id, "rejected" if delivered.kind == "rejected" else delivered.kind)
    third_party_message(
        session,
        ticket=ticket,
        draft=draft,
        request_token=request_token(parsed.subject) if relation == "external" else None,
        note="" if relation == "external" else f"sender not related to the ticket ({relation})",
    )
    return Outcome(ticket.id, "follow_up")


def _bounce(session: Session, raw: RawMail, parsed: ParsedMail) -> Outcome | None:
    """Attach a delivery failure to the ticket of the mail that bounced, and flag it."""
    if parsed.bounced_message_id is None:
        return None
    from desk.outbox.models import OutboxMessage

    sent = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == parsed.bounced_message_id))
    ticket_id = (
        sent.ticket_id
        if sent is not None
        else session.scalar(
            select(Article.ticket_id).where(Article.message_id == parsed.bounced_message_id).limit(1)
        )
    )
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None:
        return None
    if sent is not None:
        sent.status = "failed"
        sent.last_error = f"bounced: {parsed.subject}"[:2000]
    third_party_message(
        session,
        ticket=ticket,
        draft=_draft(raw, parsed, "unrelated"),
        request_token=None,
        note=f"delivery failure (bounce) of {parsed.bounced_message_id}",
    )
    return Outcome(ticket.id, "bounce")


# --- articles and automatic answers ----------------------------------------------------


class IncompleteMail(TicketflowError):
    """A part of the mail could not be read: as an article it would silently lack that part."""

    code = "incomplete_mail"


def _draft(raw: RawMail, parsed: ParsedMail, relation: Relation) -> ArticleDraft:
    """The mail as an article; visible to the customer only when the customer wrote it.

    Raises :class:`IncompleteMail` when the parser lost a part: the transaction is rolled
    back and the raw mail is recorded as failed with the reason (``mail reprocess`` after a
    fix), rather than an article that is missing a file nobody knows of.
    """
    if parsed.lost_parts:
        raise IncompleteMail(
            "a part of the mail could not be read, so no article was made (the raw mail is kept): "
            + "; ".join(parsed.lost_parts)
        )
    sender_type = {"customer": "customer", "external": "external", "agent": "agent"}.get(relation, "external")
    return ArticleDraft(
        channel="email",
        sender_type=sender_type,
        visible_for_customer=relation == "customer",
        subject=parsed.subject,
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        from_addr=parsed.from_header,
        to_addr=", ".join(parsed.to),
        cc_addr=", ".join(parsed.cc),
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references) or None,
        raw_mail=raw,
        attachments=tuple(
            AttachmentDraft(a.filename, a.content_type, a.data, a.is_inline, a.content_id)
            for a in parsed.attachments
        ),
    )


def _answer_to(parsed: ParsedMail) -> AnswerTo:
    """Where an automatic answer to ``parsed`` goes, how it threads, and why it must not."""
    references = " ".join([*parsed.references, *([parsed.message_id] if parsed.message_id else [])])
    return AnswerTo(
        recipient=parsed.reply_to or parsed.from_addr,
        in_reply_to=parsed.message_id,
        references=references or None,
        refused_because=loops.automatic_reason(parsed),
    )
