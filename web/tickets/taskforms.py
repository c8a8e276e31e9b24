"""Task forms: a user task's JSON Schema shown as HTML fields, and the submission read back.

The schema is the one the process was deployed with (``ProcessInstance.forms``); the runtime
validates the submission against it again, so this module only turns form fields into JSON
values: checkboxes into booleans, numbers and dates parsed, empty optional fields dropped.

All rendering decisions about a schema are made here (:func:`fields_of`, :func:`display_value`):
choices with their titles (``oneOf``/``anyOf`` of ``const`` + ``title``, or ``enum`` with
``x-enum-titles``/``enumNames``), dates (``format: date``, ``date-time``) as native pickers,
required marks, help texts, and pickers (``x-ticketflow-picker``, see :mod:`engine.forms`) as
a select of the allowed values, or a searchable list for customer users.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from flask import Response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from core.errors import Conflict, NotFound, PermissionDenied, TicketflowError, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.permission import service as permissions
from desk.ticket.models import Ticket
from engine import inbox
from engine.forms import AGENTS_ROLE, PickerContext, picker_choices, picker_of

# ``"x-requires": "<capability>"`` on a choice (a ``oneOf``/``anyOf`` entry) hides it from an
# agent who lacks that capability.  Only the offer: the server refuses the choice anyway.
REQUIRES = "x-requires"
CONTACT_CUSTOMERS = "contact_customers"

# More choices than this become a select instead of radio buttons.
MAX_RADIOS = 6
# Strings that may be longer than this get a text area.
SHORT_TEXT = 200


@dataclass
class FormField:
    """One field of a task form, ready for the template."""

    name: str
    title: str
    description: str
    widget: str  # radio, select, search, text, email, textarea, checkbox, number, date, datetime
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: str = "1"
    value: Any = None
    errors: list[str] = field(default_factory=list)
    # ``"x-agents-role": "<role>"`` on a login field: the form suggests that role's members
    # who are not away (S11); only a suggestion, the lane rules decide.
    agents_role: str | None = None
    # ``x-ticketflow-picker``: the kind of desk object the field names (queue, agent, …).
    picker: str | None = None


def capabilities_of(actor: Actor) -> frozenset[str]:
    """What ``actor`` may do that a form's choices can require (see :data:`REQUIRES`)."""
    return frozenset({CONTACT_CUSTOMERS} if permissions.may_contact_customers(actor) else ())


T = TypeVar("T")
# "Complete and next" looks this far down the agent's inbox for a task it may take.
NEXT_TASK_WINDOW = 50

ENUM_TITLES = ("x-enum-titles", "enumNames")
# What a datetime-local input sends: no seconds, no zone (the form says the time is UTC).
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


def _choices(spec: Mapping[str, Any], capabilities: Collection[str] | None) -> list[tuple[str, str]] | None:
    if isinstance(spec.get("enum"), list):
        values = spec["enum"]
        titles: list[Any] = next((spec[k] for k in ENUM_TITLES if isinstance(spec.get(k), list)), [])
        return [
            (str(v), str(titles[i]) if i < len(titles) and titles[i] is not None else str(v))
            for i, v in enumerate(values)
        ]
    for key in ("oneOf", "anyOf"):
        options = spec.get(key)
        if (
            isinstance(options, list)
            and options
            and all(isinstance(o, dict) and "const" in o for o in options)
        ):
            return [
                (str(o["const"]), str(o.get("title", o["const"])))
                for o in options
                if capabilities is None or o.get(REQUIRES) is None or o[REQUIRES] in capabilities
            ]
    return None


def fields_of(
    schema: Mapping[str, Any] | None,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    capabilities: Collection[str] | None = None,
    context: PickerContext | None = None,
) -> list[FormField]:
    """The fields of ``schema`` (top-level properties), with submitted values and errors.

    With ``capabilities`` (:func:`capabilities_of` the agent), choices that require something
    else are left out, so the form does not offer what the server would refuse.  With
    ``context`` (the agent and the ticket), picker fields offer the values the server accepts
    from that agent (:func:`engine.forms.picker_choices`); without it they are text fields.
    """
    if not schema:
        return []
    values = values or {}
    errors = errors or {}
    required = set(schema.get("required", []))
    result: list[FormField] = []
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        kind = spec.get("type")
        choices = _choices(spec, capabilities)
        picker = picker_of(spec)
        item = FormField(
            name=name,
            title=str(spec.get("title", name)),
            description=str(spec.get("description", "")),
            widget="text",
            required=name in required,
            value=values.get(name, spec.get("default")),
            errors=list(errors.get(name, [])),
            agents_role=str(spec[AGENTS_ROLE]) if isinstance(spec.get(AGENTS_ROLE), str) else None,
            picker=picker,
        )
        if picker is not None and context is not None:
            item.options = picker_choices(context, spec)
            # Customer users are too many for a select: a text field searching a list.
            item.widget = "search" if picker == "customer" else "select"
        elif choices is not None:
            item.options = choices
            item.widget = "radio" if len(choices) <= MAX_RADIOS else "select"
        elif kind == "boolean":
            item.widget = "checkbox"
        elif kind in ("integer", "number"):
            item.widget = "number"
            item.minimum = spec.get("minimum")
            item.maximum = spec.get("maximum")
            item.step = "1" if kind == "integer" else "any"
        elif spec.get("format") == "date":
            item.widget = "date"
        elif spec.get("format") == "date-time":
            item.widget = "datetime"
            item.value = _local_datetime(item.value)
        else:
            item.min_length = spec.get("minLength")
            item.max_length = spec.get("maxLength")
            if spec.get("format") == "email":
                item.widget = "email"
            elif spec.get("format") == "textarea" or item.max_length is None or item.max_length > SHORT_TEXT:
                item.widget = "textarea"
        result.append(item)
    return result


def _local_datetime(value: Any) -> Any:
    """A stored ``date-time`` (``…Z``) as a datetime-local input shows it (``YYYY-MM-DDTHH:MM``)."""
    if isinstance(value, str) and len(value) >= 16 and value[10:11] == "T":
        return value[:16]
    return value


def display_value(schema: Mapping[str, Any] | None, field_name: str, value: Any) -> str:
    """``value`` of ``field_name`` as a reader should see it: a choice's title, not its value.

    For completed task data on the ticket page: choices show their title (``oneOf``/``anyOf``
    ``const`` + ``title``, or ``enum`` with ``x-enum-titles``), booleans yes/no, dates as
    written; a value the schema does not know is shown as it is.
    """
    spec = ((schema or {}).get("properties") or {}).get(field_name)
    if value is None:
        return ""
    if isinstance(spec, dict):
        choices = _choices(spec, None)
        if choices is not None:
            titles = dict(choices)
            if str(value) in titles:
                return titles[str(value)]
        if spec.get("type") == "boolean" and isinstance(value, bool):
            return _("yes") if value else _("no")
        if spec.get("format") == "date-time" and isinstance(value, str):
            return value.replace("T", " ")[:16] + (" UTC" if value.endswith("Z") else "")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def form_errors(schema: Mapping[str, Any] | None, errors: Mapping[str, list[str]]) -> list[str]:
    """Errors that belong to no field shown (the whole form, or an unknown field)."""
    names = set((schema or {}).get("properties") or {})
    return [message for name, messages in errors.items() if name not in names for message in messages]


def parse_submission(schema: Mapping[str, Any] | None, form: MultiDict[str, str]) -> dict[str, Any]:
    """The JSON data of a submitted task form; raises :class:`ValidationError` for bad numbers."""
    if not schema:
        return {}
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        if spec.get("type") == "boolean":
            data[name] = form.get(name) in ("on", "true", "1", "yes")
            continue
        raw = form.get(name, "")
        if not raw.strip():
            continue  # empty optional fields are dropped; a required one fails validation
        try:
            data[name] = _parse_value(spec, raw)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationError("the form has errors", errors=errors)
    return data


def _parse_value(spec: Mapping[str, Any], raw: str) -> Any:
    """One non-empty form value as the schema's type; ValueError says what to enter."""
    kind = spec.get("type")
    try:
        if kind == "integer":
            return int(raw.strip())
        if kind == "number":
            return float(raw.strip())
        if spec.get("format") == "date":
            return date.fromisoformat(raw.strip()).isoformat()
        if spec.get("format") == "date-time":
            return _utc_datetime(raw.strip())
    except ValueError:
        raise ValueError(_what_to_enter(kind, spec.get("format"))) from None
    return raw


def _what_to_enter(kind: Any, fmt: Any) -> str:
    if kind == "integer":
        return _("enter a whole number")
    if kind == "number":
        return _("enter a number")
    return _("enter a date") if fmt == "date" else _("enter a date and time")


def _utc_datetime(raw: str) -> str:
    """A datetime-local value (UTC, as the form says) as RFC 3339 text; raises ValueError."""
    if _LOCAL_DATETIME.match(raw):
        parsed = datetime.fromisoformat(raw)
        return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Anything else must already be a full RFC 3339 time (an API-style value).
    datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return raw


# --- after a submission ------------------------------------------------------------------


def is_htmx() -> bool:
    """True when the request came from htmx (it swaps a fragment instead of a page)."""
    return request.headers.get("HX-Request") == "true"


def attempt_form(session: Session, action: Callable[[], T]) -> tuple[T | None, TicketflowError | None]:
    """Run ``action`` in a savepoint; hand back any refusal the agent can answer on the form.

    Invalid data, a lock held by someone else, a task claimed meanwhile, a stale version
    (found when the savepoint flushes): the caller shows the form again with what was typed
    and the error.  A missing right or
    an object the agent may not know stays the 403 / 404 page.
    """
    try:
        with session.begin_nested():
            return action(), None
    except (PermissionDenied, NotFound):
        raise
    except TicketflowError as exc:
        return None, exc
    except StaleDataError:
        # Someone changed the ticket (or task) since it was read: nothing was saved.
        return None, Conflict(N_("someone else changed this ticket meanwhile; check it and send again"))


def after_completion(
    session: Session,
    *,
    agent: Agent,
    ticket: Ticket,
    queue_id: int,
    task_name: str,
    then_next: bool,
) -> tuple[str, str]:
    """Where the agent goes after completing a task, and the message that says what happened.

    The ticket's page while the agent may still read it; the inbox, naming the ticket, when
    the step moved it out of their reach (never a 403 page); with *then next*, the next open
    task of the queue the task was in that the agent may take (another ticket's), or the
    inbox of that queue when there is none.
    """
    message = _("The task “%(name)s” is done.", name=task_name)
    target = url_for("ticket_view.view", ticket_id=ticket.id)
    if not permissions.can_read_ticket(session, agent, ticket):
        message = _(
            "Ticket %(number)s moved to %(queue)s; it is out of your queues.",
            number=ticket.number,
            queue=ticket.queue.name,
        )
        target = url_for("inbox.index")
    if then_next:
        for task in inbox.tasks_for(session, agent=agent, queue_ids=[queue_id], limit=NEXT_TASK_WINDOW):
            if task.ticket_id != ticket.id and task.claimed_by_id in (None, agent.id):
                anchor = f"task-{task.id}"
                return url_for("ticket_view.view", ticket_id=task.ticket_id, _anchor=anchor), message
        return url_for("inbox.index", queue=queue_id), _(
            "%(done)s No more open tasks in this queue.", done=message
        )
    return target, message


def go_to(target: str) -> ResponseReturnValue:
    """Redirect after a POST; to htmx, say so with ``HX-Redirect`` (it follows with a GET)."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def _(text: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext`` with a type (the library is untyped); extracted as ``_``."""
    return str(gettext(text, **variables))
