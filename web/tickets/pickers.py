"""Searching a task form's long picker (customer users): the options for what was typed.

The task form's field is an ``<input list>``; htmx asks ``/tasks/<id>/pickers/<field>?q=…``
as the agent types and swaps the answer into its ``<datalist>``.  The offer is only a help:
the runtime checks the submitted value against the same rule (:mod:`engine.forms`).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from engine.forms import PickerContext, picker_choices, picker_of
from flows import tasks as task_flows
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.tickets.support import check_id

bp = Blueprint("task_pickers", __name__)

# What the agent typed is a search text, not a value: a bounded one.
MAX_SEARCH = 100


@bp.get("/tasks/<int:task_id>/pickers/<field>")
@login_required
def search(task_id: int, field: str) -> ResponseReturnValue:
    """The ``<option>``s of the picker ``field`` of the task's form matching ``?q=``."""
    session = get_db()
    agent = current_agent()
    # Not found to an agent who may not read the ticket, forbidden to one who is no candidate.
    task = task_flows.get(session, actor=agent, task_id=check_id(task_id))
    schema = task.instance.forms.get(task.form) if task.form else None
    spec = ((schema or {}).get("properties") or {}).get(field)
    if not isinstance(spec, dict) or picker_of(spec) is None:
        abort(404)
    # htmx sends the field's own value under its name; ``q`` for anyone else.
    typed = request.args.get("q", request.args.get(field, ""))[:MAX_SEARCH]
    options = picker_choices(PickerContext(session, agent, task.ticket), spec, search=typed)
    return render_template("tickets/_picker_options.html", options=options)
