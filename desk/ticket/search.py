"""Finding tickets: by number, words, customer, title, queue, state type and creation date.

The one search every channel uses: the search page, the problem page's related tickets and
``GET /api/v1/tickets`` (its query parameters are these criteria).  Results are always
limited to the tickets the actor may read (the same condition as the ticket lists), so a
search never reveals a ticket in a queue the agent cannot see, and a customer's words match
only the articles the customer can read.

Words are matched against the subject and body of the ticket's articles and its title.
On PostgreSQL that is full-text search, ``to_tsvector('simple', …) @@
plainto_tsquery('simple', …)``, served by the GIN expression index ``ix_article_search``
(migration 0004; the expression here must stay identical to the indexed one).  The
``simple`` configuration does no stemming, so it behaves the same for every language of
the help desk.  On SQLite (the embedded database) the FTS5 extension is not built, so the
search falls back to a case-insensitive ``LIKE`` per word: slower, but the same results
for whole words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, select, text
from sqlalchemy.orm import Session, selectinload

from core.errors import ValidationError
from core.text import text_problem
from desk.actor import Actor
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.permission import service as permissions
from desk.ticket.models import STATE_TYPES, State, Ticket

MAX_RESULTS = 500
# Long enough for any real query; it bounds the work one request can ask of the database.
MAX_WORDS_LENGTH = 500


@dataclass(frozen=True)
class SearchCriteria:
    """What to look for; empty fields do not restrict the search."""

    number: str = ""
    words: str = ""
    customer_email: str = ""
    # Tickets of one customer user (the API's ``customer_user_id``); the e-mail above matches text.
    customer_user_id: int | None = None
    # Text contained in the title, any case (the words above search titles and articles alike).
    title: str = ""
    # Any of these queues / state types; empty: every one the actor may read.
    queue_ids: tuple[int, ...] = ()
    state_types: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_before: datetime | None = None

    @property
    def is_empty(self) -> bool:
        """True when nothing restricts the search."""
        return not (
            self.number.strip()
            or self.words.strip()
            or self.customer_email.strip()
            or self.customer_user_id is not None
            or self.title.strip()
            or self.queue_ids
            or self.state_types
            or self.created_from
            or self.created_before
        )


def search_tickets(
    session: Session, *, actor: Actor, criteria: SearchCriteria, limit: int = 50, offset: int = 0
) -> Sequence[Ticket]:
    """Tickets ``actor`` may read that match every given criterion, newest first."""
    _check(criteria)
    query = (
        select(Ticket)
        .where(permissions.visible_ticket_condition(session, actor))
        .options(
            selectinload(Ticket.locked_by),
            selectinload(Ticket.customer_user),
            selectinload(Ticket.owner),
            selectinload(Ticket.responsible),
        )
    )
    number = criteria.number.strip()
    if number:
        query = query.where(Ticket.number.like(f"%{_escape_like(number)}%", escape="\\"))
    words = " ".join(criteria.words.split())
    if words:
        # A customer's words match only what the customer can read: an internal note must not
        # reveal, by a hit, that it mentions a word.
        customer_only = isinstance(actor, CustomerUser)
        query = query.where(_words_condition(session, words, customer_visible_only=customer_only))
    email = criteria.customer_email.strip().lower()
    if email:
        query = query.where(
            exists().where(
                CustomerUser.id == Ticket.customer_user_id,
                CustomerUser.email.ilike(f"%{_escape_like(email)}%", escape="\\"),
            )
        )
    if criteria.customer_user_id is not None:
        query = query.where(Ticket.customer_user_id == criteria.customer_user_id)
    title = criteria.title.strip()
    if title:
        query = query.where(Ticket.title.ilike(f"%{_escape_like(title)}%", escape="\\"))
    if criteria.queue_ids:
        query = query.where(Ticket.queue_id.in_(criteria.queue_ids))
    if criteria.state_types:
        query = query.where(exists().where(State.id == Ticket.state_id, State.type.in_(criteria.state_types)))
    if criteria.created_from is not None:
        query = query.where(Ticket.created_at >= criteria.created_from)
    if criteria.created_before is not None:
        query = query.where(Ticket.created_at < criteria.created_before)
    query = query.order_by(Ticket.id.desc()).limit(min(max(limit, 1), MAX_RESULTS)).offset(max(offset, 0))
    return session.scalars(query).all()


def _check(criteria: SearchCriteria) -> None:
    errors: dict[str, list[str]] = {}
    # The web edge refuses such text already (web.input_policy); other callers get the same.
    for field, value in (
        ("number", criteria.number),
        ("words", criteria.words),
        ("customer", criteria.customer_email),
        ("title", criteria.title),
    ):
        problem = text_problem(value)
        if problem:
            errors[field] = [problem]
    if len(criteria.words) > MAX_WORDS_LENGTH:
        errors["words"] = [f"at most {MAX_WORDS_LENGTH} characters"]
    if any(state_type not in STATE_TYPES for state_type in criteria.state_types):
        errors["state_type"] = [f"must be one of {', '.join(STATE_TYPES)}"]
    if (
        criteria.created_from is not None
        and criteria.created_before is not None
        and criteria.created_from >= criteria.created_before
    ):
        errors["created_to"] = ["the end of the date range is before its start"]
    if errors:
        raise ValidationError("invalid search", errors=errors)


def _words_condition(session: Session, words: str, *, customer_visible_only: bool) -> ColumnElement[bool]:
    readable = [Article.is_visible_for_customer.is_(True)] if customer_visible_only else []
    if session.get_bind().dialect.name == "postgresql":
        # Literal SQL on purpose: the indexed expression must match exactly (no bound
        # parameters inside it), or PostgreSQL cannot use ix_article_search.
        in_article = exists().where(
            Article.ticket_id == Ticket.id,
            *readable,
            text(
                "to_tsvector('simple', (article.subject || ' ') || article.body_text)"
                " @@ plainto_tsquery('simple', :search_words)"
            ).bindparams(search_words=words),
        )
        in_title = text(
            "to_tsvector('simple', ticket.title) @@ plainto_tsquery('simple', :search_title_words)"
        ).bindparams(search_title_words=words)
        return in_article | in_title
    # SQLite: every word must occur in the title or in one article's subject or body.
    conditions = []
    for word in words.split():
        pattern = f"%{_escape_like(word)}%"
        conditions.append(
            exists().where(
                Article.ticket_id == Ticket.id,
                *readable,
                Article.subject.ilike(pattern, escape="\\") | Article.body_text.ilike(pattern, escape="\\"),
            )
            | Ticket.title.ilike(pattern, escape="\\")
        )
    return and_(*conditions)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
