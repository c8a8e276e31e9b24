"""Service-level rules: which level a ticket follows, chosen by its attributes.

An administrator keeps an ordered list of rules ("priority 4 or 5 from ACME in Hardware →
Gold"), the way Zammad's SLA conditions and OTRS's ticket attributes let them.  Each rule has
a level and conditions; every condition it sets must hold, one it leaves empty holds always, and
a rule needs at least one.  The conditions:

* ``queue_id``: the ticket's queue, and with ``include_subqueues`` (the default) every queue
  below it (``Hardware::Printers`` under ``Hardware``, by the queue's path);
* ``priorities``: one of these priorities (1–5);
* ``type_ids``: one of these ticket types;
* ``service_id``, ``customer_company_id``: exactly this service, this customer company;
* ``channel``: the channel of the ticket's first article (``email``, ``phone``, ``web`` …);
* ``email_domain``: the customer user's address ends in ``@`` and exactly this domain
  (compared in lower case; a sub-domain is another domain).

:func:`choose` picks the first valid rule, by position, that matches and whose level is active;
:func:`desk.sla.service.applied` asks it after the ticket's own level and before the service's,
the company's and the queue's.  It reads every rule in one statement and the ticket's first
channel and customer address only when a rule asks for them.

Changing the list (:func:`create_rule`, :func:`update_rule`, :func:`move_rule`,
:func:`deactivate_rule`; administrators only, audited as ``service_level_rule``) marks for the
escalation sweep only the open tickets the change can concern: those without a level of their
own that match the rule's conditions before or after the change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true, update
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.article.models import CHANNELS, Article
from desk.audit import service as audit
from desk.customer.models import CustomerCompany, CustomerUser
from desk.permission.service import require_admin
from desk.queue.models import QUEUE_SEPARATOR, Queue
from desk.services.models import Service
from desk.sla.models import ServiceLevel, ServiceLevelRule
from desk.ticket.models import State, Ticket, TicketType

MAX_ID = 2**31 - 1
PRIORITIES = (1, 2, 3, 4, 5)
# The states whose tickets have no due times left (desk.sla.service.ENDED_TYPES).
_ENDED = ("closed", "merged")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
MOVES = ("up", "down")


@dataclass(frozen=True)
class Conditions:
    """What a rule asks of a ticket (the rule's columns, detached from the session)."""

    queue_id: int | None = None
    include_subqueues: bool = True
    priorities: tuple[int, ...] = ()
    type_ids: tuple[int, ...] = ()
    service_id: int | None = None
    customer_company_id: int | None = None
    channel: str | None = None
    email_domain: str | None = None

    @property
    def empty(self) -> bool:
        """True when no condition is set (such a rule is refused)."""
        return (
            self.queue_id is None
            and not self.priorities
            and not self.type_ids
            and self.service_id is None
            and self.customer_company_id is None
            and self.channel is None
            and self.email_domain is None
        )


def conditions_of(rule: ServiceLevelRule) -> Conditions:
    """The conditions of a stored rule."""
    return Conditions(
        queue_id=rule.queue_id,
        include_subqueues=rule.include_subqueues,
        priorities=tuple(rule.priority_list),
        type_ids=tuple(rule.type_list),
        service_id=rule.service_id,
        customer_company_id=rule.customer_company_id,
        channel=rule.channel,
        email_domain=rule.email_domain,
    )


# --- choosing ---------------------------------------------------------------------------------


def _queue_matches(rule_queue: str, ticket_queue: str, include_subqueues: bool) -> bool:
    if ticket_queue == rule_queue:
        return True
    return include_subqueues and ticket_queue.startswith(rule_queue + QUEUE_SEPARATOR)


def _domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().rstrip(">").lower() or None


def choose(session: Session, ticket: Ticket) -> ServiceLevelRule | None:
    """The first valid rule (by position) that matches ``ticket`` and has an active level."""
    rows = session.execute(
        select(ServiceLevelRule, Queue.name)
        .join(ServiceLevel, ServiceLevel.id == ServiceLevelRule.level_id)
        .outerjoin(Queue, Queue.id == ServiceLevelRule.queue_id)
        .where(ServiceLevelRule.valid.is_(True), ServiceLevel.valid.is_(True))
        .order_by(ServiceLevelRule.position, ServiceLevelRule.id)
    ).all()
    if not rows:
        return None
    # Read only when a rule asks, and once.
    facts: dict[str, str | None] = {}

    def fact(name: str, read: Callable[[], str | None]) -> str | None:
        if name not in facts:
            facts[name] = read()
        return facts[name]

    def first_channel() -> str | None:
        return session.scalar(
            select(Article.channel)
            .where(Article.ticket_id == ticket.id)
            .order_by(Article.created_at, Article.id)
            .limit(1)
        )

    def domain() -> str | None:
        customer = ticket.customer_user if ticket.customer_user_id is not None else None
        return _domain_of(customer.email) if customer is not None else None

    for rule, queue_name in rows:
        if rule.queue_id is not None and not (
            queue_name is not None and _queue_matches(queue_name, ticket.queue.name, rule.include_subqueues)
        ):
            continue
        if rule.priorities and ticket.priority not in rule.priority_list:
            continue
        if rule.type_ids and ticket.type_id not in rule.type_list:
            continue
        if rule.service_id is not None and ticket.service_id != rule.service_id:
            continue
        if rule.customer_company_id is not None and ticket.customer_company_id != rule.customer_company_id:
            continue
        if rule.channel is not None and fact("channel", first_channel) != rule.channel:
            continue
        if rule.email_domain is not None and fact("domain", domain) != rule.email_domain:
            continue
        return rule
    return None


def _ticket_filter(session: Session, conditions: Conditions) -> ColumnElement[bool]:
    """SQL that holds for the tickets ``conditions`` match (a ticket without a customer has no domain)."""
    parts: list[ColumnElement[bool]] = []
    if conditions.queue_id is not None:
        queue = session.get(Queue, conditions.queue_id)
        if queue is None:
            return false()
        if conditions.include_subqueues:
            prefix = queue.name + QUEUE_SEPARATOR
            below = select(Queue.id).where(
                or_(Queue.id == queue.id, Queue.name.startswith(prefix, autoescape=True))
            )
            parts.append(Ticket.queue_id.in_(below))
        else:
            parts.append(Ticket.queue_id == queue.id)
    if conditions.priorities:
        parts.append(Ticket.priority.in_(conditions.priorities))
    if conditions.type_ids:
        parts.append(Ticket.type_id.in_(conditions.type_ids))
    if conditions.service_id is not None:
        parts.append(Ticket.service_id == conditions.service_id)
    if conditions.customer_company_id is not None:
        parts.append(Ticket.customer_company_id == conditions.customer_company_id)
    if conditions.email_domain is not None:
        # The domain is checked to letters, digits, dots and hyphens: no LIKE wildcard in it.
        users = select(CustomerUser.id).where(
            func.lower(CustomerUser.email).like(f"%@{conditions.email_domain}")
        )
        parts.append(Ticket.customer_user_id.in_(users))
    if conditions.channel is not None:
        first = (
            select(Article.channel)
            .where(Article.ticket_id == Ticket.id)
            .order_by(Article.created_at, Article.id)
            .limit(1)
            .correlate(Ticket)
            .scalar_subquery()
        )
        parts.append(first == conditions.channel)
    return and_(true(), *parts)


def mark_stale(session: Session, changed: Iterable[Conditions]) -> None:
    """Have the sweep recompute the open tickets that any of ``changed`` may match.

    A ticket with a level of its own never follows a rule, and an ended ticket has no due
    times to move, so neither is touched.  ``changed_at`` is kept: this is no change of the
    ticket.
    """
    filters = [_ticket_filter(session, conditions) for conditions in changed]
    if not filters:
        return
    open_states = select(State.id).where(State.type.not_in(_ENDED))
    session.execute(
        update(Ticket)
        .where(Ticket.service_level_id.is_(None), Ticket.state_id.in_(open_states), or_(*filters))
        .values(escalation_computed_at=None, changed_at=Ticket.changed_at)
        .execution_options(synchronize_session=False)
    )


# --- administration -----------------------------------------------------------------------


def get_rule(session: Session, rule_id: int) -> ServiceLevelRule | None:
    """One rule by id (None for an id that names nothing, also one beyond 32 bits)."""
    return session.get(ServiceLevelRule, rule_id) if 0 < rule_id <= MAX_ID else None


def list_rules(session: Session) -> Sequence[ServiceLevelRule]:
    """Every rule, active or not, in the order they are tried."""
    return session.scalars(
        select(ServiceLevelRule).order_by(ServiceLevelRule.position, ServiceLevelRule.id)
    ).all()


def _exists(session: Session, model: type[object], key: int | None) -> bool:
    return key is not None and 0 < key <= MAX_ID and session.get(model, key) is not None


def normal_domain(raw: str | None) -> str | None:
    """``@Example.COM `` → ``example.com``; empty → None."""
    value = (raw or "").strip().lower().lstrip("@")
    return value or None


def _condition_errors(session: Session, conditions: Conditions) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if conditions.queue_id is not None and not _exists(session, Queue, conditions.queue_id):
        errors["queue_id"] = [N_("choose a queue of the list")]
    if any(p not in PRIORITIES for p in conditions.priorities):
        errors["priorities"] = [N_("priorities are 1 to 5")]
    if conditions.type_ids and not all(_exists(session, TicketType, t) for t in conditions.type_ids):
        errors["type_ids"] = [N_("choose ticket types of the list")]
    if conditions.service_id is not None and not _exists(session, Service, conditions.service_id):
        errors["service_id"] = [N_("choose a service of the list")]
    if conditions.customer_company_id is not None and not _exists(
        session, CustomerCompany, conditions.customer_company_id
    ):
        errors["customer_company_id"] = [N_("choose a customer company of the list")]
    if conditions.channel is not None and conditions.channel not in CHANNELS:
        errors["channel"] = [N_("choose a channel of the list")]
    if conditions.email_domain is not None and not _DOMAIN.match(conditions.email_domain):
        errors["email_domain"] = [N_("a domain like example.com")]
    if conditions.empty:
        errors["conditions"] = [N_("a rule needs a condition")]
    return errors


def _check(
    session: Session,
    *,
    name: str,
    level_id: int | None,
    conditions: Conditions,
    rule: ServiceLevelRule | None = None,
) -> tuple[str, ServiceLevel]:
    """The cleaned name and the level, or a ValidationError naming every bad field."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [N_("a name is required")]
    elif len(name) > 200:
        errors["name"] = [N_("at most 200 characters")]
    else:
        clash = select(ServiceLevelRule.id).where(ServiceLevelRule.name == name)
        if rule is not None:
            clash = clash.where(ServiceLevelRule.id != rule.id)
        if session.scalar(clash) is not None:
            errors["name"] = [N_("a rule with this name exists")]
    level = session.get(ServiceLevel, level_id) if level_id is not None and 0 < level_id <= MAX_ID else None
    if level is None:
        errors["level_id"] = [N_("choose a service level of the list")]
    elif not level.valid and (rule is None or rule.level_id != level.id):
        # A rule may keep a level that was switched off since; it is skipped while it is off.
        errors["level_id"] = [N_("this service level is not active")]
    errors.update(_condition_errors(session, conditions))
    if errors or level is None:
        raise ValidationError(N_("the rule is not valid"), errors=errors)
    return name, level


def _conditions(
    *,
    queue_id: int | None,
    include_subqueues: bool,
    priorities: Iterable[int],
    type_ids: Iterable[int],
    service_id: int | None,
    customer_company_id: int | None,
    channel: str | None,
    email_domain: str | None,
) -> Conditions:
    return Conditions(
        queue_id=queue_id,
        include_subqueues=include_subqueues,
        priorities=tuple(sorted(set(priorities))),
        type_ids=tuple(sorted(set(type_ids))),
        service_id=service_id,
        customer_company_id=customer_company_id,
        channel=(channel or "").strip() or None,
        email_domain=normal_domain(email_domain),
    )


def _apply(rule: ServiceLevelRule, conditions: Conditions) -> None:
    rule.queue_id = conditions.queue_id
    rule.include_subqueues = conditions.include_subqueues
    rule.priorities = " ".join(str(p) for p in conditions.priorities)
    rule.type_ids = " ".join(str(t) for t in conditions.type_ids)
    rule.service_id = conditions.service_id
    rule.customer_company_id = conditions.customer_company_id
    rule.channel = conditions.channel
    rule.email_domain = conditions.email_domain


def _snapshot(rule: ServiceLevelRule) -> dict[str, object]:
    return {
        "name": rule.name,
        "position": rule.position,
        "level_id": rule.level_id,
        "queue_id": rule.queue_id,
        "include_subqueues": rule.include_subqueues,
        "priorities": rule.priorities,
        "type_ids": rule.type_ids,
        "service_id": rule.service_id,
        "customer_company_id": rule.customer_company_id,
        "channel": rule.channel,
        "email_domain": rule.email_domain,
        "valid": rule.valid,
    }


def _agent_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, Agent) else None


def _record(
    session: Session,
    *,
    actor: Actor,
    rule: ServiceLevelRule,
    action: str,
    before: dict[str, object] | None,
) -> bool:
    """Audit the change; False when nothing changed."""
    after = _snapshot(rule)
    old: dict[str, object] = {}
    if before is None:
        new = after
    else:
        old, new = audit.changes(before, after)
        if not new:
            return False
    audit.record(
        session,
        actor=actor,
        object_type="service_level_rule",
        object_id=rule.id,
        object_label=rule.name,
        action=action,
        old=old,
        new=new,
    )
    return True


def create_rule(
    session: Session,
    *,
    actor: Actor,
    name: str,
    level_id: int | None,
    queue_id: int | None = None,
    include_subqueues: bool = True,
    priorities: Iterable[int] = (),
    type_ids: Iterable[int] = (),
    service_id: int | None = None,
    customer_company_id: int | None = None,
    channel: str | None = None,
    email_domain: str | None = None,
) -> ServiceLevelRule:
    """Add a rule at the end of the list (administrators only)."""
    require_admin(session, actor)
    conditions = _conditions(
        queue_id=queue_id,
        include_subqueues=include_subqueues,
        priorities=priorities,
        type_ids=type_ids,
        service_id=service_id,
        customer_company_id=customer_company_id,
        channel=channel,
        email_domain=email_domain,
    )
    name, level = _check(session, name=name, level_id=level_id, conditions=conditions)
    last = session.scalar(select(func.max(ServiceLevelRule.position)))
    rule = ServiceLevelRule(
        name=name,
        level_id=level.id,
        position=(last or 0) + 1,
        valid=True,
        created_by_id=_agent_id(actor),
        changed_by_id=_agent_id(actor),
    )
    _apply(rule, conditions)
    session.add(rule)
    session.flush()
    _record(session, actor=actor, rule=rule, action="create", before=None)
    mark_stale(session, [conditions])
    return rule


def _require(session: Session, rule_id: int) -> ServiceLevelRule:
    rule = get_rule(session, rule_id)
    if rule is None:
        raise NotFound(N_("service level rule %(id)s does not exist"), id=rule_id)
    return rule


def update_rule(
    session: Session,
    *,
    actor: Actor,
    rule_id: int,
    name: str,
    level_id: int | None,
    queue_id: int | None = None,
    include_subqueues: bool = True,
    priorities: Iterable[int] = (),
    type_ids: Iterable[int] = (),
    service_id: int | None = None,
    customer_company_id: int | None = None,
    channel: str | None = None,
    email_domain: str | None = None,
    valid: bool = True,
) -> ServiceLevelRule:
    """Change a rule's name, level, conditions or activity (administrators only)."""
    require_admin(session, actor)
    rule = _require(session, rule_id)
    conditions = _conditions(
        queue_id=queue_id,
        include_subqueues=include_subqueues,
        priorities=priorities,
        type_ids=type_ids,
        service_id=service_id,
        customer_company_id=customer_company_id,
        channel=channel,
        email_domain=email_domain,
    )
    name, level = _check(session, name=name, level_id=level_id, conditions=conditions, rule=rule)
    before, old_conditions = _snapshot(rule), conditions_of(rule)
    rule.name, rule.level_id, rule.valid = name, level.id, valid
    _apply(rule, conditions)
    if _snapshot(rule) != before:
        rule.changed_by_id = _agent_id(actor)
    session.flush()
    changed = _record(session, actor=actor, rule=rule, action="update", before=before)
    # A new name alone changes no ticket's level.
    if changed and {**before, "name": ""} != {**_snapshot(rule), "name": ""}:
        mark_stale(session, {old_conditions, conditions})
    return rule


def deactivate_rule(session: Session, *, actor: Actor, rule_id: int) -> ServiceLevelRule:
    """Switch a rule off (it stays in the list and can be switched on again)."""
    require_admin(session, actor)
    rule = _require(session, rule_id)
    if not rule.valid:
        return rule
    before = _snapshot(rule)
    rule.valid, rule.changed_by_id = False, _agent_id(actor)
    session.flush()
    _record(session, actor=actor, rule=rule, action="update", before=before)
    mark_stale(session, [conditions_of(rule)])
    return rule


def move_rule(session: Session, *, actor: Actor, rule_id: int, direction: str) -> ServiceLevelRule:
    """Swap a rule with the one before (``up``) or after it (``down``); at an end nothing moves."""
    require_admin(session, actor)
    if direction not in MOVES:
        raise ValidationError(N_("the rule is not valid"), errors={"direction": [N_("up or down")]})
    rule = _require(session, rule_id)
    ordered = list(list_rules(session))
    # Positions are renumbered 1..n first, so gaps or equal positions never stall a move.
    index = ordered.index(rule)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(ordered):
        return rule
    neighbour = ordered[other]
    ordered[index], ordered[other] = neighbour, rule
    before = {r.id: (r, _snapshot(r)) for r in (rule, neighbour)}
    for number, each in enumerate(ordered, start=1):
        each.position = number
    for each in (rule, neighbour):
        each.changed_by_id = _agent_id(actor)
    session.flush()
    for each, snapshot in before.values():
        _record(session, actor=actor, rule=each, action="move", before=snapshot)
    mark_stale(session, {conditions_of(rule), conditions_of(neighbour)})
    return rule
