"""Filters from request arguments, checked and narrowed to what the reader may see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from sqlalchemy.orm import Session

from core.errors import FieldMessage, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.permission import service as permissions
from reports.access import require_read
from reports.figures import Filters

DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3


def filters_from(
    session: Session,
    *,
    actor: Actor,
    today: date,
    start: str | None = None,
    end: str | None = None,
    queue_ids: Sequence[int] = (),
    agent_id: int | None = None,
    process_id: str | None = None,
    process_version: int | None = None,
) -> Filters:
    """Checked filters: a readable range, and only queues the reader may read."""
    require_read(session, actor)
    errors: dict[str, list[str]] = {}
    first = _date(start, "start", errors) or today - timedelta(days=DEFAULT_DAYS - 1)
    last = _date(end, "end", errors) or today
    if not errors and last < first:
        errors["end"] = ["the end is before the start"]
    if not errors and (last - first).days > MAX_DAYS:
        errors["end"] = [FieldMessage(N_("at most %(num)s days at once"), num=MAX_DAYS)]
    if errors:
        raise ValidationError("the filters are not valid", errors=errors)
    allowed: list[int] | None = None
    if not permissions.is_admin(session, actor) and isinstance(actor, Agent):
        allowed = sorted(permissions.queue_ids_with(session, actor, "ro"))
    chosen: list[int] | None = list(queue_ids) or None
    if allowed is not None:
        chosen = [q for q in (chosen or allowed) if q in allowed]
    return Filters(
        start=first,
        end=last,
        queue_ids=chosen,
        agent_id=agent_id,
        process_id=process_id or None,
        process_version=process_version,
    )


def _date(value: str | None, name: str, errors: dict[str, list[str]]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = ["enter a date (YYYY-MM-DD)"]
        return None


def from_args(
    session: Session, *, actor: Actor, today: date, args: Mapping[str, str], queue_ids: Sequence[int]
) -> Filters:
    """:func:`filters_from` for a query string (``start``, ``end``, ``agent``, ``process``, ``version``)."""

    def number(name: str) -> int | None:
        raw = (args.get(name) or "").strip()
        return int(raw) if raw.isdigit() and len(raw) < 10 else None

    return filters_from(
        session,
        actor=actor,
        today=today,
        start=args.get("start"),
        end=args.get("end"),
        queue_ids=queue_ids,
        agent_id=number("agent"),
        process_id=(args.get("process") or "")[:255] or None,
        process_version=number("version"),
    )
