"""What a refused action form comes back with: the agent's typed values and the errors.

When a service refuses an action (invalid input, a lock held by someone else, a stale
version, the follow-up policy…), the ticket page is rendered again instead of redirecting, and
the refused form shows what was typed with each error beside its field.  The state lives in
``flask.g`` for the one request, so any template can read it through the macros of
``templates/_fields.html`` (``value``, ``error``, ``invalid``, ``alert``) without every view
passing it along.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from core.errors import TicketflowError


@dataclass(frozen=True)
class FormState:
    """A refused form: which action, what was typed, and what went wrong (translated)."""

    action: str
    values: dict[str, str]
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)


def remember(action: str, form: MultiDict[str, str], error: TicketflowError) -> FormState:
    """Keep the refused ``form`` of ``action`` for this request's templates, and return it."""
    state = FormState(
        action=action,
        # The CSRF token is rendered fresh; files cannot be sent back to the browser.
        values={k: v for k, v in form.items() if k != "csrf_token"},
        message=error.translated(gettext),
        errors=error.translated_errors(gettext),
    )
    g.form_state = state
    return state


def current() -> FormState | None:
    """The refused form of this request, if any."""
    state = g.get("form_state")
    return state if isinstance(state, FormState) else None


# Actions whose form sits in another action's panel of the toolbar.
PANELS = {"responsible": "owner"}


def panel_of(action: str) -> str:
    """The toolbar panel that holds the form of ``action``."""
    return PANELS.get(action, action)


def refused_panel() -> str | None:
    """The panel whose form was refused in this request (to open it again), if any."""
    state = current()
    return panel_of(state.action) if state is not None else None
