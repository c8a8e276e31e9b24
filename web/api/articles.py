"""Articles and attachments of a ticket.

With a customer token every article is a customer-visible ``web`` article from the customer
(whatever ``kind`` says), written to a ticket the customer may see; customers list only the
visible articles and read only their attachments (anything else is 404).

A customer's article is :func:`flows.customer_message.customer_message`, as a mail from them
would be: a closed ticket follows the queue's follow-up policy (a *reject* policy is a 409
here, so the client keeps its text) and the waiting process hears ``customer_replied``.

For agents: an internal note needs ``note`` on the ticket's queue; a reply, a phone note or a
visible note needs ``rw`` and *may contact customers* and locks the ticket for the agent.  A
reply is :func:`flows.reply.reply`, the same as the web form's: it is mailed to the customer
through the outbox with its attachments.  Files come as multipart uploads, either with a new
article or on their own (then they arrive as an internal note holding them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from flask import Response
from werkzeug.datastructures import FileStorage

from core.errors import NotFound, ValidationError
from desk.article import attachments as attachment_service
from desk.article import service as article_service
from desk.article.models import Article, Attachment
from desk.article.service import AttachmentDraft
from desk.customer.models import CustomerUser
from desk.ticket.models import Ticket
from flows import note as note_flow
from flows import reply as reply_flow
from flows.customer_message import customer_message
from flows.drafts import ArticleDraft
from web.api import common
from web.api.common import IF_MATCH_PARAMETER, current_actor, db, readable_ticket
from web.api.schemas import (
    MAX_ID,
    ArticleCreateSchema,
    ArticleFormSchema,
    ArticleSchema,
    AttachmentSchema,
    FilesSchema,
)
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("articles", url_prefix="/api/v1", description="Articles and attachments")

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_FILENAME = 255
# Types a browser would render or run; they are always downloaded as plain bytes.
_ACTIVE_TYPES = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml")

_CHANNELS = {"note": "note", "reply": "email", "phone": "phone"}


def _add(ticket: Ticket, data: dict[str, Any], drafts: Sequence[AttachmentDraft] = ()) -> Article:
    session, actor = db(), current_actor()
    if isinstance(actor, CustomerUser):
        # The customer's message, as a mail from them would be (follow-up policy, reopen,
        # the waiting process hears customer_replied); the channel is the portal's.
        draft = ArticleDraft(
            channel="web",
            body_text=data["body"],
            subject=data.get("subject", ""),
            from_addr=actor.email,
            attachments=tuple(drafts),
        )
        return customer_message(session, actor=actor, ticket=ticket, draft=draft, rejectable=False).article
    kind = data.get("kind", "note")
    if kind == "reply":
        customer = ticket.customer_user
        to = (data.get("to") or "").strip().lower()
        if to and (customer is None or to != (customer.email or "").lower()):
            raise ValidationError(
                "a reply goes to the ticket's customer",
                errors={"to": ["a reply goes to the ticket's customer; forward the article to anyone else"]},
            )
        return reply_flow.reply(
            session,
            actor=actor,
            ticket=ticket,
            body_text=data["body"],
            subject=data.get("subject", ""),
            attachments=drafts,
            time_units=data.get("time_units"),
        )
    if kind == "phone":
        return note_flow.phone_note(
            session,
            actor=actor,
            ticket=ticket,
            body_text=data["body"],
            subject=data.get("subject", ""),
            attachments=drafts,
            time_units=data.get("time_units"),
        )
    return note_flow.note(
        session,
        actor=actor,
        ticket=ticket,
        body_text=data["body"],
        subject=data.get("subject", ""),
        visible_for_customer=bool(data.get("visible_for_customer", False)),
        attachments=drafts,
        time_units=data.get("time_units"),
    )


def _drafts(files: Sequence[Any]) -> list[AttachmentDraft]:
    drafts = []
    for index, upload in enumerate(files):
        if not isinstance(upload, FileStorage):
            raise ValidationError("invalid upload", errors={f"files.{index}": ["must be a file"]})
        data = upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ValidationError("file too large", errors={f"files.{index}": ["at most 25 MB per file"]})
        name = "".join(c for c in (upload.filename or "") if c.isprintable() and c not in "/\\")
        content_type = (upload.mimetype or "application/octet-stream")[:255]
        if "\x00" in content_type:
            content_type = "application/octet-stream"
        drafts.append(
            AttachmentDraft(
                filename=name[-MAX_FILENAME:] or f"attachment-{index + 1}",
                content_type=content_type,
                data=data,
            )
        )
    return drafts


@bp.route("/tickets/<int:ticket_id>/articles", methods=["GET"])
@bp.response(200, ArticleSchema(many=True))
def list_articles(ticket_id: int) -> Sequence[Article]:
    """The ticket's articles, oldest first."""
    return article_service.list_articles(db(), actor=current_actor(), ticket=readable_ticket(ticket_id))


@bp.route("/tickets/<int:ticket_id>/articles", methods=["POST"])
@bp.arguments(ArticleCreateSchema)
@bp.response(201, ArticleSchema)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def add_article(data: dict[str, Any], ticket_id: int) -> Article:
    """Add a note (internal unless ``visible_for_customer``), a reply or a phone note.

    With a customer token: a visible web article from the customer, whatever ``kind`` says.
    """
    ticket = readable_ticket(ticket_id)
    common.check_if_match(ticket)
    return _add(ticket, data)


@bp.route("/tickets/<int:ticket_id>/articles/upload", methods=["POST"])
@bp.arguments(ArticleFormSchema, location="form")
@bp.arguments(FilesSchema, location="files")
@bp.response(201, ArticleSchema)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def add_article_with_files(data: dict[str, Any], files: dict[str, Any], ticket_id: int) -> Article:
    """Add an article with attachments (multipart: the article's fields and ``files``)."""
    ticket = readable_ticket(ticket_id)
    common.check_if_match(ticket)
    return _add(ticket, data, _drafts(files["files"]))


@bp.route("/tickets/<int:ticket_id>/attachments", methods=["POST"])
@bp.arguments(FilesSchema, location="files")
@bp.response(201, ArticleSchema)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def upload_attachments(files: dict[str, Any], ticket_id: int) -> Article:
    """Attach files on their own: they arrive as an internal note holding them."""
    ticket = readable_ticket(ticket_id)
    common.check_if_match(ticket)
    drafts = _drafts(files["files"])
    body = "Attached: " + ", ".join(d.filename for d in drafts)
    return _add(ticket, {"kind": "note", "body": body, "subject": "Attachments"}, drafts)


def _attachment_id(attachment_id: int) -> int:
    if not 0 < attachment_id <= MAX_ID:
        raise NotFound("no such attachment")
    return attachment_id


@bp.route("/attachments/<int:attachment_id>", methods=["GET"])
@bp.response(200, AttachmentSchema)
def get_attachment(attachment_id: int) -> Attachment:
    """An attachment's metadata (customers: only of their visible articles)."""
    return attachment_service.get_attachment(
        db(), actor=current_actor(), attachment_id=_attachment_id(attachment_id)
    )


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name as RFC 5987 ``filename*``."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'attachment'}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.route("/attachments/<int:attachment_id>/content", methods=["GET"])
@bp.response(200, content_type="application/octet-stream", description="the file's bytes")
def download_attachment(attachment_id: int) -> Response:
    """The file, always as a download (never rendered inline by the browser)."""
    attachment, data = attachment_service.open_attachment(
        db(), actor=current_actor(), attachment_id=_attachment_id(attachment_id)
    )
    content_type = attachment.content_type.split(";")[0].strip().lower()
    if content_type in _ACTIVE_TYPES or "/" not in content_type:
        content_type = "application/octet-stream"
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = content_disposition(attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
