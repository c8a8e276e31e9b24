"""Per-language variants of the four kinds of text (templates, salutations, signatures,
automatic answers), and picking the one for a customer.

Each text's own wording is the default; a variant replaces it for customers whose
``CustomerUser.language`` it is written in.  One table and one rule for all four kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.audit import service as audit
from desk.permission.service import require_admin
from desk.template.models import VARIANT_LANGUAGES, VARIANT_OWNERS, TextVariant


@dataclass(frozen=True)
class Wording:
    """The text (and, for automatic answers, the subject) chosen for one language."""

    text: str
    subject: str | None = None
    language: str | None = None


def variants_of(session: Session, *, owner_type: str, owner_id: int) -> dict[str, TextVariant]:
    """The variants of one text by language."""
    rows = session.scalars(
        select(TextVariant).where(TextVariant.owner_type == owner_type, TextVariant.owner_id == owner_id)
    )
    return {row.language: row for row in rows}


def pick(
    session: Session,
    *,
    owner_type: str,
    owner_id: int,
    language: str | None,
    text: str,
    subject: str | None = None,
) -> Wording:
    """The variant in ``language`` when there is one, else the default ``text``/``subject``."""
    if language:
        variant = session.scalar(
            select(TextVariant).where(
                TextVariant.owner_type == owner_type,
                TextVariant.owner_id == owner_id,
                TextVariant.language == language,
            )
        )
        if variant is not None:
            return Wording(text=variant.text, subject=variant.subject or subject, language=language)
    return Wording(text=text, subject=subject)


def set_variant(
    session: Session,
    *,
    actor: Actor,
    owner_type: str,
    owner_id: int,
    language: str,
    text: str,
    subject: str | None = None,
    label: str = "",
) -> TextVariant | None:
    """Write (or, with an empty text, remove) the ``language`` variant of a text.

    Removing a variant only brings the default text back for that language; the audit entry
    keeps what it said.
    """
    require_admin(session, actor)
    if owner_type not in VARIANT_OWNERS:
        raise ValueError(f"unknown text kind {owner_type!r}")
    if language not in VARIANT_LANGUAGES:
        raise ValidationError(
            N_("invalid language"),
            errors={
                "language": [FieldMessage(N_("one of %(choices)s"), choices=", ".join(VARIANT_LANGUAGES))]
            },
        )
    # Imported here: desk.template.service imports this module to pick the wording.
    from desk.template.service import check_syntax

    existing = variants_of(session, owner_type=owner_type, owner_id=owner_id).get(language)
    before = {"text": existing.text, "subject": existing.subject} if existing else {}
    if not text.strip():
        if existing is None:
            return None
        session.delete(existing)
        session.flush()
        audit.record(
            session,
            actor=actor,
            object_type=owner_type,
            object_id=owner_id,
            action=f"remove_variant_{language}",
            object_label=label,
            old=before,
        )
        return None
    check_syntax(text, field=f"variant_{language}")
    if subject is not None:
        check_syntax(subject, field=f"variant_{language}_subject")
    after = {"text": text, "subject": subject}
    old, new = audit.changes(before, after)
    if not new:
        return existing
    if existing is None:
        existing = TextVariant(owner_type=owner_type, owner_id=owner_id, language=language, text=text)
        session.add(existing)
    existing.text, existing.subject = text, subject
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type=owner_type,
        object_id=owner_id,
        action=f"variant_{language}",
        object_label=label,
        old=old,
        new=new,
    )
    return existing
