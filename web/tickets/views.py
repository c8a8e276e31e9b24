"""Ticket views: the ticket page, attachment downloads and completing a process task.

Views stay thin: they load by id (the services check the read permission), call services and
render.  What the agent may do is asked from the permission service, so the page offers only
the actions the services would accept; the services refuse anyway when a form is posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import ValidationError
from desk.agent import service as agent_service
from desk.agent.models import Agent
from desk.article import attachments as attachment_service
from desk.article import service as article_service
from desk.article.models import Article
from desk.history import service as history_service
from desk.outbox import service as outbox_service
from desk.permission import service as permissions
from desk.template import service as template_service
from desk.ticket import admin as ticket_admin
from desk.ticket import service as ticket_service
from desk.ticket import states as state_service
from desk.ticket.models import Ticket
from engine import inbox, runtime
from engine.models import HumanTask, ProcessInstance
from flows import tasks as task_flows
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.security import CONTENT_SECURITY_POLICY
from web.tickets import embedded_mail, rendering, taskforms
from web.tickets.support import _, attempt_validated, back_to, check_id, flash_done

bp = Blueprint("ticket_view", __name__)

# Shown in the browser rather than downloaded: images that cannot carry script.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
# The page allows remote images only when the agent asked for them (?images=1).
CSP_WITH_REMOTE_IMAGES = CONTENT_SECURITY_POLICY.replace(
    "img-src 'self' data:", "img-src 'self' data: https:"
)
PRIORITIES = (1, 2, 3, 4, 5)


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
    ticket: Ticket,
    failed_task_id: int | None,
    submitted: dict[str, Any],
    errors: dict[str, list[str]],
) -> list[TaskView]:
    session = get_db()
    result = []
    for task in inbox.open_tasks_of_ticket(session, ticket=ticket):
        schema = task.instance.forms.get(task.form) if task.form else None
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
    templates = template_service.templates_for_queue(session, queue=ticket.queue) if rights.contact else []
    chosen = next((t for t in templates if t.id == request.args.get("template", type=int)), None)
    reply_text = ""
    if rights.contact:
        reply_text = template_service.compose_answer(session, ticket=ticket, agent=agent, template=chosen)
    move_targets = []
    if rights.move:
        move_targets = [
            q
            for q in permissions.queues_with(session, agent, "move_into")
            if q.valid and q.id != ticket.queue_id
        ]
    owners: list[Agent] = []
    responsibles: list[Agent] = []
    if rights.owner:
        listed = agent_service.list_agents(session, with_roles=False)  # the lists need no roles
        candidates = [a for a in listed if a.active and not a.read_only]
        # Every candidate's rights in two queries, not two per agent.
        held = permissions.group_permissions_of(session, candidates)
        for candidate in candidates:
            on_queue = held[candidate.id].get(ticket.queue.group_id, set())
            if "owner" in on_queue:
                owners.append(candidate)
            if "ro" in on_queue:
                responsibles.append(candidate)
    # The newest instance first: the tasks of that instance then find it in the session.
    process = newest_instance(ticket)
    tasks = _task_views(agent, ticket, failed_task_id, submitted or {}, errors or {})
    context = {
        "ticket": ticket,
        "rights": rights,
        "process": process,
        # The diagram marks these elements as the current position (tasks of the shown instance).
        "current_steps": sorted(
            {item.task.bpmn_id for item in tasks if process and item.task.instance_id == process.id}
        ),
        "articles": articles,
        # Delivery state of each mail we sent (queued, sent, or failed with the reason).
        "deliveries": outbox_service.delivery_by_article(session, ticket=ticket),
        "history": history_service.for_ticket(session, ticket=ticket),
        "links": ticket_service.links_of(session, ticket=ticket),
        "tasks": tasks,
        "show_images": show_images,
        "templates": templates,
        "chosen_template": chosen,
        "reply_text": reply_text,
        "move_targets": move_targets,
        "owners": owners,
        "responsibles": responsibles,
        "states": [s for s in state_service.list_states(session) if s.valid and s.type != "merged"],
        "priorities": PRIORITIES,
        "priority_labels": ticket_admin.priority_names(session),
        "body_html": lambda article: rendering.inert_html(article.body_html or "", _cid_resolver(article)),
        "has_remote_images": rendering.has_remote_images,
        "split_quotes": rendering.split_quotes,
        # Attached mails shown under their article (parsed when the template asks).
        "is_mail": embedded_mail.is_mail,
        "embedded_mail": lambda file: embedded_mail.for_attachment(session, actor=agent, attachment=file),
    }
    response = Response(render_template("tickets/view.html", **context), status=status)
    # The process diagram needs no relaxed policy: bpmn-js's viewer sets its styles through
    # the CSSOM (element.style), which style-src does not restrict, and injects no <style>
    # (tests/e2e/test_diagram.py checks that no CSP violation happens).
    if show_images:
        # Only this page, only when asked: remote images may load (over HTTPS).
        response.headers["Content-Security-Policy"] = CSP_WITH_REMOTE_IMAGES
    return response


def newest_instance(ticket: Ticket) -> ProcessInstance | None:
    """The ticket's newest process instance (the one the diagram shows), if any."""
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
    return render_ticket(ticket)


@bp.get("/tickets/<int:ticket_id>/process.bpmn")
@login_required
def process_diagram(ticket_id: int) -> ResponseReturnValue:
    """The BPMN XML of the ticket's newest process instance (for the diagram on the page)."""
    ticket = ticket_service.get_ticket(get_db(), actor=current_agent(), ticket_id=check_id(ticket_id))
    instance = newest_instance(ticket)
    if instance is None:
        abort(404)
    response = Response(instance.process_version.bpmn_xml, mimetype="application/xml")
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
        task_flows.complete(session, actor=agent, task_id=task.id, data=data)
        return True

    done, error = attempt_validated(run)
    if error is not None:
        session.refresh(ticket)
        return render_ticket(
            ticket, status=422, failed_task_id=task.id, submitted=submitted, errors=_errors(error)
        )
    if done:
        flash_done(_("The task “%(name)s” is done.", name=task.name))
    return back_to(url_for("ticket_view.view", ticket_id=ticket.id))


def _errors(error: ValidationError) -> dict[str, list[str]]:
    return error.errors or {"_form": [error.message]}
