"""Ticket views: the ticket page, attachment downloads and completing a process task.

Views stay thin: they load by id (the services check the read permission), call services and
render.  What the agent may do is asked from the permission service, so the page offers only
the actions the services would accept; the services refuse anyway when a form is posted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from sqlalchemy import select

from core.errors import TicketflowError
from desk.agent import service as agent_service
from desk.agent.models import Agent
from desk.article import attachments as attachment_service
from desk.article import service as article_service
from desk.article.models import Article
from desk.history import service as history_service
from desk.outbox import service as outbox_service
from desk.permission import service as permissions
from desk.reading import service as reading
from desk.services import service as service_admin
from desk.template import service as template_service
from desk.ticket import admin as ticket_admin
from desk.ticket import service as ticket_service
from desk.ticket import states as state_service
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.forms import PickerContext
from engine.models import HumanTask, ProcessInstance, ProcessVersion
from engine.position import Position, position_of
from flows import tasks as task_flows
from web import header, i18n
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.i18n import translate_form
from web.security import CONTENT_SECURITY_POLICY
from web.tickets import embedded_mail, formstate, rendering, taskforms
from web.tickets.support import _, check_id, flash_done

bp = Blueprint("ticket_view", __name__)

# Shown in the browser rather than downloaded: images that cannot carry script.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
# The page allows remote images only when the agent asked for them (?images=1).
CSP_WITH_REMOTE_IMAGES = CONTENT_SECURITY_POLICY.replace(
    "img-src 'self' data:", "img-src 'self' data: https:"
)
PRIORITIES = (1, 2, 3, 4, 5)
THREAD_ORDERS = ("oldest", "newest")
ORDER_COOKIE_AGE = 365 * 24 * 3600


@dataclass
class TaskView:
    """An open process task of the ticket as the page shows it."""

    task: HumanTask
    fields: list[taskforms.FormField]
    form_title: str
    form_description: str
    may_work: bool
    claimed_by: Agent | None
    claimed_by_other: bool
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rights:
    """What the signed-in agent may do on this ticket (the services check again)."""

    rw: bool
    note: bool
    move: bool
    owner: bool
    priority: bool
    contact: bool

    @property
    def any_write(self) -> bool:
        """True when the agent may change anything at all."""
        return self.rw or self.note or self.move or self.owner or self.priority


def rights_on(agent: Agent, ticket: Ticket) -> Rights:
    """The agent's rights on the ticket's queue; a merged ticket takes no changes."""
    session = get_db()
    perms = permissions.group_permissions(session, agent).get(ticket.queue.group_id, set())
    if agent.read_only or ticket.merged_into_id is not None:
        return Rights(
            rw="rw" in perms and not agent.read_only,
            note=False,
            move=False,
            owner=False,
            priority=False,
            contact=False,
        )
    return Rights(
        rw="rw" in perms,
        note="note" in perms,
        move="move_into" in perms,
        owner="owner" in perms,
        priority="priority" in perms,
        contact="rw" in perms and permissions.may_contact_customers(agent),
    )


def _task_views(
    agent: Agent,
    open_tasks: Sequence[HumanTask],
    failed_task_id: int | None,
    submitted: dict[str, Any],
    errors: dict[str, list[str]],
) -> list[TaskView]:
    session = get_db()
    result = []
    for task in open_tasks:
        # Shown in the agent's language (web.i18n); the runtime validates the stored schema.
        schema = translate_form(task.instance.forms.get(task.form)) if task.form else None
        failed = task.id == failed_task_id
        claimed_by = session.get(Agent, task.claimed_by_id) if task.claimed_by_id else None
        result.append(
            TaskView(
                task=task,
                fields=taskforms.fields_of(
                    schema,
                    submitted if failed else None,
                    errors if failed else None,
                    capabilities=taskforms.capabilities_of(agent),
                    context=PickerContext(session, agent, task.ticket),
                ),
                form_title=str((schema or {}).get("title", "")),
                form_description=str((schema or {}).get("description", "")),
                may_work=task_flows.may_work(session, agent=agent, task=task),
                claimed_by=claimed_by,
                claimed_by_other=claimed_by is not None and claimed_by.id != agent.id,
                errors=taskforms.form_errors(schema, errors) if failed else [],
            )
        )
    return result


# --- the action toolbar ------------------------------------------------------------------


@dataclass(frozen=True)
class ActionButton:
    """One button of the toolbar: the action's name, its label and whether it is open."""

    name: str
    label: str
    open: bool


def _action_labels() -> dict[str, str]:
    # In toolbar order; built per request so the labels are in the agent's language.
    return {
        "reply": _("Reply"),
        "note": _("Note"),
        "phone": _("Phone note"),
        "forward": _("Forward"),
        "move": _("Move"),
        "owner": _("Owner"),
        "state": _("State"),
        "priority": _("Priority"),
        "service": _("Service"),
        "merge": _("Merge"),
        "link": _("Link"),
        "split": _("Split"),
    }


def offered_actions(rights: Rights, *, has_articles: bool) -> list[str]:
    """The actions the toolbar offers this agent, in toolbar order (the services check again)."""
    allowed = {
        "reply": rights.contact,
        "note": rights.note,
        "phone": rights.contact,
        "forward": rights.rw and has_articles,
        "move": rights.move,
        "owner": rights.owner,
        "state": rights.rw,
        "priority": rights.priority,
        "service": rights.rw,
        "merge": rights.rw,
        "link": rights.rw,
        "split": rights.rw and has_articles,
    }
    return [name for name in _action_labels() if allowed[name]]


def _default_action(offered: list[str]) -> str | None:
    # The agent's everyday action is open when the page loads: the reply, else the note.
    return next((name for name in ("reply", "note") if name in offered), None)


def _action_context(agent: Agent, ticket: Ticket, rights: Rights, name: str | None) -> dict[str, Any]:
    """What the form of the open action needs, and only that (each list is a query or more)."""
    session = get_db()
    context: dict[str, Any] = {
        "open_action": name,
        "templates": [],
        "chosen_template": None,
        "reply_text": "",
        "move_targets": [],
        "owners": [],
        "responsibles": [],
        "states": [],
        "priorities": PRIORITIES,
        "services": [],
    }
    if name == "reply" and rights.contact:
        templates = template_service.templates_for_queue(session, queue=ticket.queue)
        chosen = next((t for t in templates if t.id == request.args.get("template", type=int)), None)
        context["templates"] = templates
        context["chosen_template"] = chosen
        context["reply_text"] = template_service.compose_answer(
            session, ticket=ticket, agent=agent, template=chosen
        )
    elif name == "service" and rights.rw:
        context["services"] = service_admin.list_services(session)
    elif name == "move" and rights.move:
        context["move_targets"] = [
            q
            for q in permissions.queues_with(session, agent, "move_into")
            if q.valid and q.id != ticket.queue_id
        ]
    elif name == "owner" and rights.owner:
        listed = agent_service.list_agents(session, with_roles=False)  # the lists need no roles
        candidates = [a for a in listed if a.active and not a.read_only]
        # Every candidate's rights in two queries, not two per agent.
        held = permissions.group_permissions_of(session, candidates)
        for candidate in candidates:
            on_queue = held[candidate.id].get(ticket.queue.group_id, set())
            if "owner" in on_queue:
                context["owners"].append(candidate)
            if "ro" in on_queue:
                context["responsibles"].append(candidate)
        # The picker marks who is away: asked with the header's statement, not from the template.
        header.will_show_agents(a.id for a in context["owners"])
    elif name == "state" and rights.rw:
        context["states"] = [s for s in state_service.list_states(session) if s.valid and s.type != "merged"]
    return context


# --- the thread: articles and step results -----------------------------------------------


@dataclass(frozen=True)
class StepField:
    """One answer of a completed step's form, as the agent reads it."""

    title: str
    value: str


@dataclass(frozen=True)
class StepResult:
    """A completed user task in the thread: who did which step when, and what the form held."""

    task: HumanTask
    completed_by: str
    fields: list[StepField]


@dataclass(frozen=True)
class ThreadEntry:
    """An article or a step result, placed in the thread by its time."""

    at: datetime
    article: Article | None = None
    step: StepResult | None = None


def _readable(value: Any, options: Mapping[str, str], widget: str) -> str:
    if isinstance(value, bool) or widget == "checkbox":
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(options.get(str(v), str(v)) for v in value)
    return options.get(str(value), str(value))


def step_fields(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> list[StepField]:
    """The form's fields that the task's data holds, with their titles and readable values.

    The form's own order and titles; an enum value shows its title (``oneOf`` with ``const``);
    what the data holds beyond the form (the process's other variables) is left out.
    """
    result = []
    for item in taskforms.fields_of(schema, data):
        value = data.get(item.name)
        if item.name not in data or value is None or value == "":
            continue
        text = _readable(value, dict(item.options), item.widget)
        result.append(StepField(title=item.title, value=text))
    return result


def _step_results(completed: Sequence[HumanTask], positions: Mapping[int, Position]) -> list[StepResult]:
    session = get_db()
    who_ids = {t.completed_by_id for t in completed if t.completed_by_id}
    # Every agent who completed a step in one query, not one per step.
    names = (
        {a.id: a.full_name for a in session.scalars(select(Agent).where(Agent.id.in_(who_ids)))}
        if who_ids
        else {}
    )
    results = []
    for task in completed:
        # Shown in the agent's language (web.i18n); the runtime validates the stored schema.
        schema = translate_form(task.instance.forms.get(task.form)) if task.form else None
        found = positions.get(task.instance_id)
        data = found.data.get(task.task_guid, {}) if found else {}
        results.append(
            StepResult(
                task=task,
                completed_by=names.get(task.completed_by_id or 0, _("the system")),
                fields=step_fields(schema, data),
            )
        )
    return results


def _thread(articles: Sequence[Article], steps: list[StepResult], *, newest_first: bool) -> list[ThreadEntry]:
    entries = [ThreadEntry(at=a.created_at, article=a) for a in articles]
    entries += [ThreadEntry(at=s.task.completed_at, step=s) for s in steps if s.task.completed_at]
    # Stable: an article and the step done in the same second keep the order they were made.
    entries.sort(key=lambda e: e.at)
    return entries[::-1] if newest_first else entries


def thread_order(agent: Agent) -> str:
    """``newest`` or ``oldest``: the order asked for now, else the one the agent chose before."""
    asked = request.args.get("order")
    if asked in THREAD_ORDERS:
        return asked
    kept = request.cookies.get(_order_cookie(agent))
    return kept if kept in THREAD_ORDERS else "oldest"


def _order_cookie(agent: Agent) -> str:
    # Per agent: two agents sharing a browser keep their own order.
    return f"thread_order_{agent.id}"


# --- the page ----------------------------------------------------------------------------


def _shown_instance(instances: Sequence[ProcessInstance]) -> ProcessInstance | None:
    """The instance asked for (?instance=), else the newest running one, else the newest."""
    asked = request.args.get("instance", type=int)
    by_id = {i.id: i for i in instances}
    if asked in by_id:
        return by_id[asked]
    running = [i for i in instances if i.status == "running"]
    candidates = running or list(instances)
    return candidates[-1] if candidates else None


def render_ticket(
    ticket: Ticket,
    *,
    status: int = 200,
    failed_task_id: int | None = None,
    submitted: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> Response:
    """The ticket page (optionally with a task form's errors)."""
    session = get_db()
    agent = current_agent()
    rights = rights_on(agent, ticket)
    articles = article_service.list_articles(session, actor=agent, ticket=ticket)
    show_images = request.args.get("images") == "1"
    offered = offered_actions(rights, has_articles=bool(articles))
    # A refused action form opens again (web.tickets.formstate), else the one asked for.
    asked = formstate.refused_panel() or request.args.get("action")
    open_action = asked if asked in offered else _default_action(offered)
    # Every instance of the ticket, oldest first, and all its open and completed tasks: two
    # queries, whatever the number of steps.
    instances = runtime.instances_of(session, ticket=ticket)
    process = _shown_instance(instances)
    all_tasks = session.scalars(
        select(HumanTask)
        .where(HumanTask.ticket_id == ticket.id, HumanTask.state.in_(("open", "completed")))
        .order_by(HumanTask.id)
    ).all()
    open_tasks = [t for t in all_tasks if t.state == "open"]
    completed = [t for t in all_tasks if t.state == "completed"]
    positions: dict[int, Position] = {}
    for instance in instances:
        wanted = [t.task_guid for t in completed if t.instance_id == instance.id]
        if wanted or instance is process:
            positions[instance.id] = position_of(instance, data_for=wanted)
    tasks = _task_views(agent, open_tasks, failed_task_id, submitted or {}, errors or {})
    order = thread_order(agent)
    shown = positions.get(process.id) if process else None
    # "Current steps" are the shown instance's only: another instance's tasks are not its position.
    current_tasks = [item for item in tasks if process and item.task.instance_id == process.id]
    top_process = process.process_version.process_id if process else None
    # The drill-down (?called=<call activity>): the diagram of the process an active call
    # activity runs, with that process's own position.
    drill = next((c for c in (shown.calls if shown else []) if c.call_id == request.args.get("called")), None)
    diagram_version = called_version(process, drill.process_id) if process and drill else None
    if drill is not None and diagram_version is None:
        drill = None
    diagram_xml = (diagram_version or process.process_version).bpmn_xml if process else ""
    context = {
        "ticket": ticket,
        "rights": rights,
        "process": process,
        "instances": instances,
        "has_layout": bool(process and rendering.has_diagram_layout(diagram_xml)),
        "current_tasks": current_tasks,
        # The diagram marks these: waiting elements of the shown instance's own diagram (its
        # tasks in called processes are shown under their call activity), and what has run.
        "current_steps": sorted(drill.current)
        if drill
        else sorted(
            (shown.current if shown else set())
            | {i.task.bpmn_id for i in current_tasks if i.task.process_id == top_process}
        ),
        "completed_steps": sorted(drill.completed) if drill else (sorted(shown.completed) if shown else []),
        "called_positions": shown.calls if shown else [],
        "drill": drill,
        "diagram_process_id": drill.process_id if drill else top_process,
        "articles": articles,
        "thread": _thread(articles, _step_results(completed, positions), newest_first=order == "newest"),
        "thread_order": order,
        # Delivery state of each mail we sent (queued, sent, or failed with the reason).
        "deliveries": outbox_service.delivery_by_article(session, ticket=ticket),
        "history": history_service.for_ticket(session, ticket=ticket),
        "links": ticket_service.links_of(session, ticket=ticket),
        "tasks": tasks,
        "show_images": show_images,
        "actions": [ActionButton(n, _action_labels()[n], n == open_action) for n in offered],
        "priority_labels": _priority_labels(ticket, open_action),
        "format_when": format_when,
        "body_html": lambda article: rendering.inert_html(article.body_html or "", _cid_resolver(article)),
        "has_remote_images": rendering.has_remote_images,
        "split_quotes": rendering.split_quotes,
        "collapse_quotes": lambda markup: rendering.collapse_html_quotes(markup, _("Quoted text")),
        "is_image": lambda file: (file.content_type or "").split(";")[0].strip().lower() in INLINE_TYPES,
        # Attached mails shown under their article (parsed when the template asks).
        "is_mail": embedded_mail.is_mail,
        "embedded_mail": lambda file: embedded_mail.for_attachment(session, actor=agent, attachment=file),
        **_action_context(agent, ticket, rights, open_action),
    }
    response = Response(render_template("tickets/view.html", **context), status=status)
    # The process diagram needs no relaxed policy: bpmn-js's viewer sets its styles through
    # the CSSOM (element.style), which style-src does not restrict, and injects no <style>
    # (tests/e2e/test_diagram.py checks that no CSP violation happens).
    if show_images:
        # Only this page, only when asked: remote images may load (over HTTPS).
        response.headers["Content-Security-Policy"] = CSP_WITH_REMOTE_IMAGES
    if request.args.get("order") in THREAD_ORDERS:
        response.set_cookie(
            _order_cookie(agent), order, max_age=ORDER_COOKIE_AGE, httponly=True, samesite="Lax", path="/"
        )
    return response


def _priority_labels(ticket: Ticket, open_action: str | None) -> dict[int, str]:
    """The administrators' priority names the page shows: every one for the priority form,
    else only the ticket's own (loaded with the ticket; the others keep their built-in name)."""
    named = ticket.priority_name
    if open_action == "priority" or (named is not None and named.id != ticket.priority):
        return ticket_admin.priority_names(get_db())
    return {named.id: named.name} if named is not None else {}


def format_when(value: datetime) -> str:
    """A time as the page shows it (the one place to change how times read): the agent's
    language and time zone (web.i18n, the ``|datetime`` filter of every other page)."""
    return i18n.format_when(value)


def called_version(instance: ProcessInstance, process_id: str) -> ProcessVersion | None:
    """The version of ``process_id`` that ``instance`` calls: the newest deployed when it started.

    Only a process the instance's own version calls; anything else is None.
    """
    if process_id not in (instance.process_version.calls or []):
        return None
    return get_db().scalars(
        select(ProcessVersion)
        .where(ProcessVersion.process_id == process_id, ProcessVersion.deployed_at <= instance.created_at)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first() or definitions.latest_version(get_db(), process_id)


def newest_instance(ticket: Ticket) -> ProcessInstance | None:
    """The ticket's newest process instance, if any."""
    return runtime.newest_instance(get_db(), ticket=ticket)


def _cid_resolver(article: Article) -> Any:
    by_cid = {
        (a.content_id or "").strip("<>"): url_for("ticket_view.attachment", attachment_id=a.id)
        for a in article.attachments
        if a.content_id
    }
    return lambda cid: by_cid.get(cid.strip("<>"))


@bp.get("/tickets/<int:ticket_id>")
@login_required
def view(ticket_id: int) -> ResponseReturnValue:
    """The ticket with its thread, tasks, actions and history."""
    ticket = ticket_service.get_ticket(get_db(), actor=current_agent(), ticket_id=check_id(ticket_id))
    reading.mark_seen(get_db(), agent=current_agent(), ticket=ticket)  # the lists' unread marker
    return render_ticket(ticket)


@bp.get("/tickets/<int:ticket_id>/actions/<name>")
@login_required
def action_form(ticket_id: int, name: str) -> ResponseReturnValue:
    """One action's form alone, for the toolbar's single slot (htmx swaps it in).

    Without JavaScript the toolbar's links open the page with that form in the slot
    (``?action=<name>``); this fragment is the same form.  An action the agent is not
    offered is not found.
    """
    session = get_db()
    agent = current_agent()
    ticket = ticket_service.get_ticket(session, actor=agent, ticket_id=check_id(ticket_id))
    rights = rights_on(agent, ticket)
    articles = article_service.list_articles(session, actor=agent, ticket=ticket)
    if name not in offered_actions(rights, has_articles=bool(articles)):
        abort(404)
    return render_template(
        "tickets/_action_form.html",
        ticket=ticket,
        rights=rights,
        articles=articles,
        format_when=format_when,
        priority_labels=ticket_admin.priority_names(session),
        **_action_context(agent, ticket, rights, name),
    )


@bp.get("/tickets/<int:ticket_id>/process.bpmn")
@login_required
def process_diagram(ticket_id: int) -> ResponseReturnValue:
    """The BPMN XML of one of the ticket's instances (?instance=, default the newest).

    The instance's own version (or, with ``?process=``, the version of a process it calls,
    for the drill-down into a call activity), with the labels in the agent's language where the BPMN
    carries them (see :func:`web.tickets.rendering.translated_bpmn`).
    """
    session = get_db()
    ticket = ticket_service.get_ticket(session, actor=current_agent(), ticket_id=check_id(ticket_id))
    asked = request.args.get("instance", type=int)
    if asked is not None:
        instance = session.get(ProcessInstance, check_id(asked))
        if instance is None or instance.ticket_id != ticket.id:
            abort(404)
    else:
        instance = newest_instance(ticket)
    if instance is None:
        abort(404)
    version = instance.process_version
    called = request.args.get("process")
    if called is not None:
        found = called_version(instance, called)
        if found is None:
            abort(404)
        version = found
    xml = rendering.translated_bpmn(version.bpmn_xml, str(get_locale() or "en"))
    response = Response(xml, mimetype="application/xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> ResponseReturnValue:
    """Download an attachment (images of safe types are shown inline)."""
    found, data = attachment_service.open_attachment(
        get_db(), actor=current_agent(), attachment_id=check_id(attachment_id)
    )
    content_type = (found.content_type or "").split(";")[0].strip().lower()
    inline = content_type in INLINE_TYPES
    response = Response(data, mimetype=content_type if inline else "application/octet-stream")
    response.headers["Content-Disposition"] = _disposition(
        "inline" if inline else "attachment", found.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Nothing in a downloaded file may run as part of our site, even if a browser renders it.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _disposition(kind: str, filename: str) -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` (RFC 6266 / RFC 5987)."""
    name = "".join(ch for ch in (filename or "attachment") if ch >= " " and ch != "\x7f") or "attachment"
    fallback = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.post("/tasks/<int:task_id>/complete")
@login_required
def complete(task_id: int) -> ResponseReturnValue:
    """Complete a process task with its form; invalid data shows the errors and changes nothing."""
    session = get_db()
    agent = current_agent()
    # Not found to an agent who may not read the ticket, forbidden to one who is no candidate.
    task = task_flows.get(session, actor=agent, task_id=check_id(task_id))
    ticket = task.ticket
    schema = task.instance.forms.get(task.form) if task.form else None
    submitted = request.form.to_dict()

    def run() -> bool:
        data = taskforms.parse_submission(schema, request.form)
        task_flows.complete(
            session, actor=agent, task_id=task.id, data=data, time_units=request.form.get("time_units")
        )
        return True

    queue_id = ticket.queue_id  # "Complete and next" stays in the queue the task was in
    done, error = taskforms.attempt_form(get_db(), run)
    if error is not None:
        # Refused (invalid data, a lock, a stale version): the form comes back as typed.
        session.refresh(ticket)
        if taskforms.is_htmx():
            (item,) = _task_views(agent, [task], task.id, submitted, _errors(error))
            html = render_template("tickets/_task.html", item=item, ticket=ticket)
            return Response(html, status=422)
        return render_ticket(
            ticket, status=422, failed_task_id=task.id, submitted=submitted, errors=_errors(error)
        )
    target, message = taskforms.after_completion(
        session,
        agent=agent,
        ticket=ticket,
        queue_id=queue_id,
        task_name=i18n.task_name(task.name),
        then_next=request.form.get("then") == "next",
    )
    if done:
        flash_done(message)
    return taskforms.go_to(target)


def _errors(error: TicketflowError) -> dict[str, list[str]]:
    # In the agent's language (core.errors: message ids, translated at the edge).
    return error.translated_errors(gettext) or {"_form": [error.translated(gettext)]}
