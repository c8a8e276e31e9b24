"""Server-side validation of task forms against their JSON Schema, pickers included.

A field marked ``"x-ticketflow-picker": "<kind>"`` names a thing of the desk (a queue, an
agent, a state, a template, a customer user) by its natural key, the value the process
operators already take: the queue's full path, the agent's or customer user's login, the
state's or template's name.  The web form offers exactly :func:`picker_choices`; the same set
is checked here on every submission (web and API alike), so a forged value is a field error,
never a step that runs with it.  Values stay names, so data written before the picker existed,
and API clients that send names, keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent, Role
from desk.customer.models import CustomerUser
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.template import service as templates
from desk.ticket import states
from desk.ticket.models import Ticket

# The schema extension that makes a string field a picker; its value is one of PICKER_KINDS.
PICKER = "x-ticketflow-picker"
PICKER_KINDS = ("queue", "agent", "state", "template", "customer")
# ``"x-agents-role": "<role>"`` narrows an agent picker (and suggests members on a login field).
AGENTS_ROLE = "x-agents-role"
# Customer users are many: the form searches them, the check looks the one value up.
CUSTOMER_SUGGESTIONS = 50


@dataclass(frozen=True)
class PickerContext:
    """Who fills the form on which ticket: what a picker may offer depends on both."""

    session: Session
    actor: Actor
    ticket: Ticket


def picker_of(spec: Mapping[str, Any]) -> str | None:
    """The picker kind of a field's schema, or None for an ordinary field."""
    kind = spec.get(PICKER)
    return kind if isinstance(kind, str) and kind in PICKER_KINDS else None


def picker_choices(
    context: PickerContext, spec: Mapping[str, Any], *, search: str = ""
) -> list[tuple[str, str]]:
    """The ``(value, label)`` pairs a picker field offers ``context.actor`` on the ticket.

    Queues: the ones the agent may move the ticket into (``move_into``), valid, not the
    ticket's own.  Agents: active agents who may work (no observers) and may read the ticket
    (``ro``), members of ``x-agents-role`` when the field names one.  States: the valid ones
    but *merged*.  Templates: the valid answer templates of the ticket's queue.  Customer
    users: valid ones whose login, address or name contains ``search`` (at most
    :data:`CUSTOMER_SUGGESTIONS`).
    """
    kind = picker_of(spec)
    session, actor, ticket = context.session, context.actor, context.ticket
    if kind == "queue":
        if isinstance(actor, Agent):
            offered = permissions.queues_with(session, actor, "move_into")
        else:
            offered = list(session.scalars(select(Queue).order_by(Queue.name)))
        return [(q.name, q.name) for q in offered if q.valid and q.id != ticket.queue_id]
    if kind == "agent":
        role = spec.get(AGENTS_ROLE)
        query = select(Agent).where(Agent.active.is_(True), Agent.read_only.is_(False)).order_by(Agent.login)
        if isinstance(role, str):
            query = query.where(Agent.roles.any((Role.name == role) & Role.valid.is_(True)))
        return [
            (a.login, a.full_name or a.login)
            for a in session.scalars(query)
            if permissions.has_queue_permission(session, a, ticket.queue, "ro")
        ]
    if kind == "state":
        return [(s.name, s.name) for s in states.list_states(session) if s.valid and s.type != "merged"]
    if kind == "template":
        return [(t.name, t.name) for t in templates.templates_for_queue(session, queue=ticket.queue)]
    if kind == "customer":
        customers = select(CustomerUser).where(CustomerUser.valid.is_(True)).order_by(CustomerUser.login)
        if search.strip():
            pattern = f"%{search.strip()[:100].lower()}%"
            customers = customers.where(
                CustomerUser.login.ilike(pattern)
                | CustomerUser.email.ilike(pattern)
                | CustomerUser.last_name.ilike(pattern)
                | CustomerUser.first_name.ilike(pattern)
            )
        return [(c.login, _customer_label(c)) for c in session.scalars(customers.limit(CUSTOMER_SUGGESTIONS))]
    return []


def _customer_label(customer: CustomerUser) -> str:
    name = f"{customer.first_name} {customer.last_name}".strip()
    return f"{name} <{customer.email}>" if name else customer.email


def _allowed(context: PickerContext, spec: Mapping[str, Any], value: str) -> bool:
    if picker_of(spec) == "customer":
        # Not the suggestion list (a search), the one value: any valid customer user.
        found = context.session.scalar(select(CustomerUser).where(CustomerUser.login == value))
        return found is not None and found.valid
    return any(value == offered for offered, _label in picker_choices(context, spec))


def validate_form(
    schema: Mapping[str, Any] | None, data: Any, *, context: PickerContext | None = None
) -> dict[str, Any]:
    """Return ``data`` when it satisfies ``schema``; otherwise raise with one message per field.

    A task without a form accepts only an empty submission, so nothing unchecked reaches the
    process data.  With ``context`` the picker fields (:data:`PICKER`) must hold one of the
    values offered to that actor on that ticket.
    """
    if not isinstance(data, dict):
        raise ValidationError("the form data must be an object", errors={"_form": ["expected an object"]})
    if schema is None:
        if data:
            raise ValidationError(
                N_("this task takes no form data"), errors={"_form": [N_("no fields expected")]}
            )
        return {}
    errors: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(data):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required" and not path:
            # "'x' is a required property" belongs to the missing field, not the form.
            missing = error.message.split("'")[1] if "'" in error.message else "_form"
            errors.setdefault(missing, []).append(N_("this field is required"))
            continue
        errors.setdefault(".".join(path) or "_form", []).append(error.message)
    if context is not None:
        for name, spec in (schema.get("properties") or {}).items():
            if not isinstance(spec, dict) or picker_of(spec) is None or name in errors:
                continue
            value = data.get(name)
            if value is None or value == "":
                continue  # absent: "required" above decides
            if not isinstance(value, str) or not _allowed(context, spec, value):
                errors.setdefault(name, []).append(N_("choose one of the offered values"))
    if errors:
        raise ValidationError(N_("the form has errors"), errors=errors)
    return dict(data)
