"""An outbox row as an RFC 5322 message, built from its article.

The row gives the envelope (From, To, Cc), the Message-ID and the automatic-mail marker; the
article gives everything else: Subject, In-Reply-To, References, the text, an HTML
alternative when it has one, its inline (``cid:``) images as related parts of the HTML, and
its files as attachments with their names (RFC 2231 for names that are not ASCII) and
content types.  Articles are never changed, so every retry sends the same mail.  A row
without an article (mail that belongs to no ticket entry) is sent as plain text from its own
columns, with the one file it may carry (desk.outbox.service.attached_file).

The shape, as mail clients expect it::

    multipart/mixed                      (only with attachments)
      multipart/alternative              (only with HTML)
        text/plain
        multipart/related                (only with inline images)
          text/html
          image/png  Content-ID: <…>
      application/pdf  attachment; filename*=utf-8''…
"""

from __future__ import annotations

import mimetypes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses

from sqlalchemy.orm import Session, object_session

from desk.article.models import Article, Attachment
from desk.blob import service as blobs
from desk.outbox import service as outbox
from desk.outbox.models import OutboxMessage


def compose(message: OutboxMessage, *, session: Session | None = None) -> EmailMessage:
    """The mail for ``message``, composed from its article when it has one.

    ``session`` reads the attachments' bytes; by default the session ``message`` belongs to.
    """
    article = message.article
    mail = EmailMessage(policy=SMTP)
    mail["From"] = message.from_addr
    mail["To"] = message.to_addr
    if message.cc_addr:
        mail["Cc"] = message.cc_addr
    mail["Subject"] = article.subject if article is not None else (message.subject or "")
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message.message_id
    in_reply_to = article.in_reply_to if article is not None else message.in_reply_to
    references = article.references if article is not None else message.references
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    if message.auto_submitted:
        # RFC 3834: other systems must not answer this automatically.
        mail["Auto-Submitted"] = message.auto_submitted
        mail["X-Auto-Response-Suppress"] = "All"
        mail["Precedence"] = "auto_reply"
    mail["X-Ticketflow-Loop"] = "yes" if message.auto_submitted else "no"
    if article is None:
        mail.set_content(message.body_text or "", charset="utf-8")
        _own_file(mail, message, session or _session_of(message))
        return mail
    _content(mail, article, session or _session_of(message))
    return mail


def _content(mail: EmailMessage, article: Article, session: Session) -> None:
    """Text, HTML with its inline images, and the attachments of ``article``."""
    mail.set_content(article.body_text, charset="utf-8")
    inline = [a for a in article.attachments if a.is_inline and a.content_id and article.body_html]
    files = [a for a in article.attachments if a not in inline]
    if article.body_html:
        mail.add_alternative(article.body_html, subtype="html", charset="utf-8")
        html = mail.get_body(preferencelist=("html",))
        if html is None:
            raise ValueError("the HTML part was not added")
        for image in inline:
            maintype, subtype = _split(image.content_type)
            html.add_related(
                blobs.read(session, sha256=image.blob_sha256),
                maintype=maintype,
                subtype=subtype,
                cid=f"<{image.content_id}>",
                disposition="inline",
                filename=image.filename or None,
            )
    for attachment in files:
        _attach(mail, attachment, blobs.read(session, sha256=attachment.blob_sha256))


_OWN_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _own_file(mail: EmailMessage, message: OutboxMessage, session: Session) -> None:
    """The one file an article-less row may carry (desk.outbox.service.attached_file)."""
    found = outbox.attached_file(message)
    if found is None:
        return
    filename, sha256 = found
    # Not every system's mime.types knows XLSX, the one file the desk sends this way today.
    known = _OWN_TYPES.get(filename.rpartition(".")[2].lower())
    maintype, subtype = _split(known or mimetypes.guess_type(filename)[0] or "")
    mail.add_attachment(
        blobs.read(session, sha256=sha256), maintype=maintype, subtype=subtype, filename=filename
    )


def _attach(mail: EmailMessage, attachment: Attachment, data: bytes) -> None:
    maintype, subtype = _split(attachment.content_type)
    mail.add_attachment(
        data,
        maintype=maintype,
        subtype=subtype,
        filename=attachment.filename or "attachment",
        cid=f"<{attachment.content_id}>" if attachment.content_id else None,
    )


def _split(content_type: str) -> tuple[str, str]:
    maintype, _, subtype = (content_type or "").partition("/")
    maintype, subtype = maintype.strip().lower(), subtype.split(";")[0].strip().lower()
    if not maintype or not subtype or maintype == "multipart":
        return "application", "octet-stream"
    return maintype, subtype


def _session_of(message: OutboxMessage) -> Session:
    session = object_session(message)
    if session is None:
        raise ValueError("the outbox row is not attached to a session; pass one")
    return session


def recipients(message: OutboxMessage) -> list[str]:
    """Every envelope recipient of ``message``."""
    return [addr for _, addr in getaddresses([message.to_addr, message.cc_addr]) if addr]
