"""Marshmallow schemas of the API: what comes in (validated) and what goes out (documented).

Input fields refuse what the database would refuse (NUL characters and lone surrogates,
ids beyond a 32-bit integer, naive or out-of-range times), so bad input is a 422 and never a
server error; every list has a maximum length and task data a maximum size and depth.  The
same text rule is checked for the whole request first (:mod:`web.input_policy`); the fields
say it again so the schemas stand on their own.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.text import text_problem
from desk.ticket.models import STATE_TYPES
from desk.time_accounting.models import MAX_MINUTES
from web.api.language import localized

MAX_ID = 2**31 - 1
ID_RANGE = validate.Range(min=1, max=MAX_ID)
# Repeated query parameters (``queue_id=1&queue_id=2…``): more than any real filter needs.
MAX_LIST_ITEMS = 100
MAX_FILES = 20
# A task form's data: a few fields, perhaps a list of rows; never a document.
MAX_TASK_DATA_BYTES = 256 * 1024
MAX_TASK_DATA_DEPTH = 16


def _storable(value: str) -> None:
    problem = text_problem(value)
    if problem:
        raise ValidationError(problem)


def _depth(value: Any) -> int:
    # Called on data the request's depth check (web.input_policy) already bounded.
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _task_data_bounds(value: dict[str, Any]) -> None:
    if _depth(value) > MAX_TASK_DATA_DEPTH:
        raise ValidationError(f"must not be nested deeper than {MAX_TASK_DATA_DEPTH} levels")
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError, RecursionError):
        raise ValidationError("must be JSON data") from None
    if size > MAX_TASK_DATA_BYTES:
        raise ValidationError(f"must be at most {MAX_TASK_DATA_BYTES} bytes as JSON")


def _reasonable_time(value: datetime) -> None:
    if not 1900 <= value.year <= 9000:
        raise ValidationError("must be between the years 1900 and 9000")


class Text(fields.String):
    """A string every layer can store: valid Unicode (no lone surrogates) without NUL."""

    def __init__(self, *, max_length: int | None = None, min_length: int | None = None, **kw: Any) -> None:
        validators: list[Any] = [_storable]
        if max_length is not None or min_length is not None:
            validators.append(validate.Length(min=min_length, max=max_length))
        super().__init__(validate=validators, **kw)


def Id(**kw: Any) -> fields.Integer:  # noqa: N802 (reads like a field class)
    """A database id: a positive 32-bit integer."""
    return fields.Integer(strict=True, validate=ID_RANGE, **kw)


def QueryId(**kw: Any) -> fields.Integer:  # noqa: N802
    """A database id in a query string (where every value arrives as text)."""
    return fields.Integer(validate=ID_RANGE, **kw)


def Time(**kw: Any) -> fields.AwareDateTime:  # noqa: N802
    """A time with a time zone, in a range every layer can store."""
    return fields.AwareDateTime(validate=_reasonable_time, **kw)


class InputSchema(Schema):
    """Base of input schemas: unknown fields are an error (marshmallow's default)."""


# --- errors ---------------------------------------------------------------------------


class ErrorSchema(Schema):
    """The body of every error response."""

    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "field name → problems"},
    )


# --- directory ------------------------------------------------------------------------


class QueueSchema(Schema):
    """A queue (read only)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    parent_id = fields.Integer(allow_none=True, required=True)
    group = fields.Function(lambda q: q.group.name, required=True, metadata={"type": "string"})
    system_address = fields.String(allow_none=True, required=True)
    follow_up_policy = fields.String(required=True)
    valid = fields.Boolean(required=True)
    customer_facing = fields.Boolean(
        required=True, metadata={"description": "customers may open tickets here"}
    )


class AgentSchema(Schema):
    """An agent (read only; no password or token data)."""

    id = fields.Integer(required=True)
    login = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(required=True)
    active = fields.Boolean(required=True)
    read_only = fields.Boolean(required=True)
    may_contact_customers = fields.Boolean(required=True)


class CustomerSchema(Schema):
    """A customer user (read only)."""

    id = fields.Integer(required=True)
    login = fields.String(required=True)
    email = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    company = fields.Function(
        lambda c: c.company.customer_id if c.company else None,
        allow_none=True,
        required=True,
        metadata={"type": "string", "nullable": True},
    )
    valid = fields.Boolean(required=True)


class CustomerQuerySchema(InputSchema):
    """Finding a customer by e-mail address."""

    email = Text(required=True, max_length=320)


# --- tickets --------------------------------------------------------------------------


def _login(agent: Any) -> str | None:
    return agent.login if agent is not None else None


class TicketSchema(Schema):
    """A ticket as the API shows it."""

    id = fields.Integer(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)
    queue_id = fields.Integer(required=True)
    queue = fields.Function(lambda t: t.queue.name, required=True, metadata={"type": "string"})
    state = fields.Function(lambda t: t.state.name, required=True, metadata={"type": "string"})
    state_type = fields.Function(lambda t: t.state.type, required=True, metadata={"type": "string"})
    priority = fields.Integer(required=True)
    customer_user_id = fields.Integer(allow_none=True, required=True)
    customer_company_id = fields.Integer(allow_none=True, required=True)
    owner = fields.Function(
        lambda t: _login(t.owner),
        allow_none=True,
        required=True,
        metadata={"type": "string", "nullable": True},
    )
    responsible = fields.Function(
        lambda t: _login(t.responsible),
        allow_none=True,
        required=True,
        metadata={"type": "string", "nullable": True},
    )
    locked_by = fields.Function(
        lambda t: _login(t.locked_by),
        allow_none=True,
        required=True,
        metadata={"type": "string", "nullable": True},
    )
    pending_until = fields.DateTime(allow_none=True, required=True)
    merged_into_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    changed_at = fields.DateTime(required=True)
    # Escalation due times of the ticket's service level (None: no target runs).
    first_response_due = fields.DateTime(allow_none=True, required=True)
    update_due = fields.DateTime(allow_none=True, required=True)
    solution_due = fields.DateTime(allow_none=True, required=True)
    service_id = fields.Integer(allow_none=True, required=True)
    version = fields.Integer(required=True, metadata={"description": "also sent as the ETag"})


class TicketQuerySchema(InputSchema):
    """Filters and paging of the ticket search."""

    queue_id = fields.List(
        QueryId(),
        validate=validate.Length(max=MAX_LIST_ITEMS),
        metadata={"description": "one or more queue ids"},
    )
    state_type = fields.List(
        fields.String(validate=validate.OneOf(STATE_TYPES)), validate=validate.Length(max=len(STATE_TYPES))
    )
    customer_user_id = QueryId()
    title = Text(max_length=255, metadata={"description": "text contained in the title (any case)"})
    words = Text(
        max_length=500,
        metadata={
            "description": "full-text search: every word in the title or in one article's subject or "
            "body (the search page's Words field)"
        },
    )
    number = Text(max_length=40, metadata={"description": "part of the ticket number"})
    customer = Text(max_length=320, metadata={"description": "part of the customer's e-mail address"})
    created_from = Time(metadata={"description": "created at or after this time"})
    created_before = Time(metadata={"description": "created before this time"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


class TicketCreateSchema(InputSchema):
    """A phone or web ticket with its first article."""

    title = Text(required=True, min_length=1, max_length=255)
    queue_id = Id(required=True)
    channel = fields.String(
        validate=validate.OneOf(("phone", "web")),
        metadata={"description": "default: phone (agents), web (customers, who may use only web)"},
    )
    body = Text(required=True, min_length=1, max_length=100_000)
    subject = Text(max_length=998, load_default="")
    customer_user_id = Id(allow_none=True, load_default=None)
    priority = fields.Integer(strict=True, load_default=3, validate=validate.Range(min=1, max=5))
    state = Text(max_length=200, metadata={"description": "state name (default: new)"})
    pending_until = Time(allow_none=True, load_default=None)
    visible_for_customer = fields.Boolean(
        load_default=True, metadata={"description": "false records the first article as internal"}
    )


class TicketUpdateSchema(InputSchema):
    """The fields a PATCH may change; each one needs its own permission."""

    title = Text(min_length=1, max_length=255)
    queue_id = Id()
    state = Text(max_length=200, metadata={"description": "state name"})
    pending_until = Time(allow_none=True)
    priority = fields.Integer(strict=True, validate=validate.Range(min=1, max=5))
    owner_id = Id()
    responsible_id = Id()
    service_id = Id(allow_none=True, metadata={"description": "the ticket's service; null: none"})

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_kw: Any) -> None:
        if not data:
            raise ValidationError("change at least one field", field_name="_schema")


class MergeSchema(InputSchema):
    """Merge this ticket into another."""

    into_ticket_id = Id(required=True)


class LinkSchema(InputSchema):
    """Link this ticket to another."""

    target_ticket_id = Id(required=True)
    kind = fields.String(load_default="normal", validate=validate.OneOf(("normal", "parent_child")))


class LinkOutSchema(Schema):
    """A link between two tickets."""

    id = fields.Integer(required=True)
    source_ticket_id = fields.Integer(required=True)
    target_ticket_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class HistorySchema(Schema):
    """One entry of a ticket's history."""

    id = fields.Integer(required=True)
    type = fields.String(required=True)
    actor_type = fields.String(required=True)
    actor_name = fields.String(required=True)
    old_value = fields.String(allow_none=True, required=True)
    new_value = fields.String(allow_none=True, required=True)
    comment = fields.String(required=True)
    article_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


# --- articles and attachments ---------------------------------------------------------


class AttachmentSchema(Schema):
    """An attachment's metadata; the bytes are at its download URL."""

    id = fields.Integer(required=True)
    article_id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    is_inline = fields.Boolean(required=True)


class ArticleSchema(Schema):
    """An article of a ticket."""

    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    channel = fields.String(required=True)
    sender_type = fields.String(required=True)
    is_visible_for_customer = fields.Boolean(required=True)
    from_addr = fields.String(required=True)
    to_addr = fields.String(required=True)
    subject = fields.String(required=True)
    body_text = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)


def time_units_field(*, strict: bool = True) -> fields.Integer:
    """The ``time_units`` field of an article or a task completion (minutes spent)."""
    return fields.Integer(
        allow_none=True,
        load_default=None,
        strict=strict,
        validate=validate.Range(min=0, max=MAX_MINUTES),
        metadata={
            "description": "time spent in minutes, booked with the article or task; required "
            "when the ticket's queue requires time accounting, refused (422 on time_units) when "
            "its accounting is off (0 and null are accepted there and book nothing)"
        },
    )


class ArticleCreateSchema(InputSchema):
    """A note or a reply.  A reply (or a visible note) needs rw and *may contact customers*."""

    kind = fields.String(
        load_default="note",
        validate=validate.OneOf(("note", "reply", "phone")),
        metadata={
            "description": "note (default): internal unless visible_for_customer; reply: to the customer. "
            "Ignored for customer tokens: a customer's article is always their message."
        },
    )
    body = Text(required=True, min_length=1, max_length=100_000)
    subject = Text(max_length=998, load_default="")
    visible_for_customer = fields.Boolean(
        metadata={"description": "for notes; a reply is always visible to the customer"}
    )
    to = Text(max_length=2000, load_default="", metadata={"description": "recipient of a reply"})
    time_units = time_units_field()


class ForwardSchema(InputSchema):
    """Forward an article by e-mail."""

    to = Text(required=True, min_length=3, max_length=254, metadata={"description": "one e-mail address"})
    article_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "default: the newest article"}
    )
    comment = Text(max_length=100_000, load_default="")


class SplitSchema(InputSchema):
    """Split an article into a new ticket."""

    title = Text(min_length=1, max_length=255, metadata={"description": "default: the article's subject"})


class ArticleFormSchema(InputSchema):
    """The form fields of a multipart article upload (the files come as ``files``)."""

    kind = fields.String(load_default="note", validate=validate.OneOf(("note", "reply", "phone")))
    body = Text(required=True, min_length=1, max_length=100_000)
    subject = Text(max_length=998, load_default="")
    visible_for_customer = fields.Boolean()
    time_units = time_units_field(strict=False)  # form fields are text


class FilesSchema(InputSchema):
    """Uploaded files (multipart field ``files``, repeatable)."""

    files = fields.List(
        fields.Raw(metadata={"type": "string", "format": "binary"}),
        required=True,
        validate=validate.Length(min=1, max=MAX_FILES),
    )


# --- tasks and processes ----------------------------------------------------------------


class TaskSchema(Schema):
    """An open (or just finished) user task of a process."""

    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    ticket_number = fields.Function(lambda t: t.ticket.number, required=True, metadata={"type": "string"})
    name = fields.String(required=True)
    name_localized = fields.Function(
        lambda t: localized(t.name),
        required=True,
        metadata={
            "type": "string",
            "description": "the name in the request's language (Accept-Language, else the token "
            "owner's language; as the inbox shows it): the catalog's translation of the shipped "
            "processes' names, a name without one as written",
        },
    )
    process_id = fields.String(required=True)
    bpmn_id = fields.String(required=True)
    lane = fields.String(allow_none=True, required=True)
    documentation = fields.String(required=True)
    form = fields.String(allow_none=True, required=True)
    state = fields.String(required=True)
    claimed_by_id = fields.Integer(allow_none=True, required=True)
    claimed_at = fields.DateTime(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True, required=True)


class TaskQuerySchema(InputSchema):
    """The inbox filters of :func:`engine.inbox.tasks_for`."""

    scope = fields.String(load_default="all", validate=validate.OneOf(("all", "mine", "unclaimed")))
    queue_id = fields.List(QueryId(), validate=validate.Length(max=MAX_LIST_ITEMS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


class TaskCompleteSchema(InputSchema):
    """The task's form data, checked against the task's JSON Schema form by the engine."""

    data = fields.Dict(
        keys=fields.String(validate=_storable),
        load_default=dict,
        validate=_task_data_bounds,
        metadata={
            "description": f"at most {MAX_TASK_DATA_BYTES} bytes as JSON, nested at most "
            f"{MAX_TASK_DATA_DEPTH} levels"
        },
    )
    time_units = time_units_field()


class InstanceSchema(Schema):
    """A process instance after a change."""

    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    status = fields.String(required=True)
    process_id = fields.Function(
        lambda i: i.process_version.process_id, required=True, metadata={"type": "string"}
    )
    process_version = fields.Function(
        lambda i: i.process_version.version, required=True, metadata={"type": "integer"}
    )
    waiting_messages = fields.List(fields.String(), required=True)
    error = fields.String(allow_none=True, required=True)
    open_tasks = fields.List(fields.Nested(TaskSchema), required=True)


class ProcessVersionSchema(Schema):
    """A deployed version of a process (without its diagram)."""

    id = fields.Integer(required=True)
    process_id = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    calls = fields.List(fields.String(), required=True)
    deployed_at = fields.DateTime(required=True)


class ProcessQuerySchema(InputSchema):
    """Filter versions by process."""

    process_id = Text(max_length=255)


class BpmnSchema(InputSchema):
    """A BPMN document and the JSON Schema forms it names (by file name)."""

    bpmn_xml = Text(required=True, min_length=1, max_length=2_000_000)
    forms = fields.Dict(
        keys=fields.String(validate=_storable),
        values=fields.Dict(),
        load_default=dict,
        validate=validate.Length(max=MAX_LIST_ITEMS),
    )
    decisions = fields.Dict(
        keys=fields.String(
            validate=[_storable, validate.Regexp(r".+\.dmn\Z", error="a decision file name ends in .dmn")]
        ),
        values=Text(max_length=2_000_000),
        load_default=dict,
        validate=validate.Length(max=MAX_LIST_ITEMS),
        metadata={"description": "DMN documents by file name (*.dmn) for its business rule tasks"},
    )


class ValidationResultSchema(Schema):
    """The outcome of validating a document without deploying it."""

    valid = fields.Boolean(required=True)
    process_ids = fields.List(fields.String(), required=True)
    problems = fields.List(fields.String(), required=True)


# --- what a customer token sees ------------------------------------------------------------


def _customer_facing_queue(ticket: Any) -> Any:
    """The ticket's queue when customers may know it, else ``None`` (an internal queue)."""
    return ticket.queue if ticket.queue.customer_facing else None


class CustomerQueueSchema(Schema):
    """A queue customers may open tickets in, as a customer token sees it (no group or policy)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CustomerTicketSchema(Schema):
    """A ticket as its customer sees it: no agent logins, no lock, no internal queue."""

    id = fields.Integer(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)
    queue_id = fields.Function(
        lambda t: queue.id if (queue := _customer_facing_queue(t)) else None,
        allow_none=True,
        required=True,
        metadata={"type": "integer", "nullable": True, "description": "null while in an internal queue"},
    )
    queue = fields.Function(
        lambda t: queue.name if (queue := _customer_facing_queue(t)) else None,
        allow_none=True,
        required=True,
        metadata={"type": "string", "nullable": True, "description": "null while in an internal queue"},
    )
    state = fields.Function(lambda t: t.state.name, required=True, metadata={"type": "string"})
    state_type = fields.Function(lambda t: t.state.type, required=True, metadata={"type": "string"})
    priority = fields.Integer(required=True)
    customer_user_id = fields.Integer(allow_none=True, required=True)
    customer_company_id = fields.Integer(allow_none=True, required=True)
    merged_into_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    changed_at = fields.DateTime(required=True)
    version = fields.Integer(required=True, metadata={"description": "also sent as the ETag"})
