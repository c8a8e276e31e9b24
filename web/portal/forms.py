"""Reading the portal's ticket forms: every bad field is named in one ValidationError.

The CSRF token of every form is checked by Flask-WTF's ``CSRFProtect`` before a view runs;
the sign-in forms are read in their views.
"""

from __future__ import annotations

from flask import Request
from flask_babel import gettext

from core.errors import ValidationError
from desk.article.service import AttachmentDraft

MAX_TITLE = 255
MAX_BODY = 100_000
MAX_FILES = 10
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_FILENAME = 255


def read_message(request: Request) -> tuple[str, list[AttachmentDraft]]:
    """The text and files of a reply."""
    errors: dict[str, list[str]] = {}
    body = _body(request, errors)
    files = _files(request, errors)
    if errors:
        raise ValidationError("invalid message", errors=errors)
    return body, files


def read_new_ticket(request: Request) -> tuple[int, str, str, list[AttachmentDraft]]:
    """Queue id, title, text and files of a new ticket."""
    errors: dict[str, list[str]] = {}
    raw_queue = request.form.get("queue", "")
    queue_id = int(raw_queue) if raw_queue.isascii() and raw_queue.isdigit() and len(raw_queue) < 10 else 0
    if not queue_id:
        errors["queue"] = [gettext("Choose a topic.")]
    title = request.form.get("title", "").strip()
    if not title:
        errors["title"] = [gettext("Enter a title.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [gettext("At most %(count)s characters.", count=MAX_TITLE)]
    body = _body(request, errors)
    files = _files(request, errors)
    if errors:
        raise ValidationError("invalid ticket", errors=errors)
    return queue_id, title, body, files


def _body(request: Request, errors: dict[str, list[str]]) -> str:
    body = request.form.get("body", "")
    if not body.strip():
        errors["body"] = [gettext("Please write your message.")]
    elif len(body) > MAX_BODY:
        errors["body"] = [gettext("At most %(count)s characters.", count=MAX_BODY)]
    return body


def _files(request: Request, errors: dict[str, list[str]]) -> list[AttachmentDraft]:
    uploads = [f for f in request.files.getlist("attachments") if f and f.filename]
    if len(uploads) > MAX_FILES:
        errors["attachments"] = [gettext("At most %(count)s files.", count=MAX_FILES)]
        return []
    drafts = []
    for index, upload in enumerate(uploads):
        data = upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            errors["attachments"] = [gettext("At most 25 MB per file.")]
            return []
        name = "".join(c for c in (upload.filename or "") if c.isprintable() and c not in "/\\")
        content_type = (upload.mimetype or "application/octet-stream")[:255]
        drafts.append(
            AttachmentDraft(
                # The tail keeps the extension, as the agents' form and the API do.
                filename=name[-MAX_FILENAME:] or f"attachment-{index + 1}",
                content_type=content_type,
                data=data,
            )
        )
    return drafts
