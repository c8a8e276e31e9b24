"""Helpers the ticket, inbox and search views share: running an action and reporting errors.

An action runs inside a savepoint.  When the service refuses with a :class:`TicketflowError`
(a conflict, invalid input, a lock held by someone else) the savepoint is rolled back, so a
service that flushed half a change before raising leaves nothing behind even though the
redirect that follows commits the request; the agent gets the message as a flash.  A refused
permission is not softened: it becomes the 403 page (nothing the agent could fix by retrying).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core.errors import PermissionDenied, TicketflowError, ValidationError
from web import redirects
from web.db import get_db

T = TypeVar("T")

# Ids are PostgreSQL integers; anything larger would make the database raise.
MAX_ID = 2**31 - 1


def check_id(value: int) -> int:
    """``value`` if it can be a row id, otherwise the 404 page."""
    if not 0 < value <= MAX_ID:
        abort(404)
    return value


def describe(exc: TicketflowError) -> str:
    """One line for a flash message: the service's message and its field errors, translated."""
    details = [
        f"{field}: {message}" if field != "_form" else message
        for field, messages in exc.translated_errors(gettext).items()
        for message in messages
    ]
    message = exc.translated(gettext)
    return f"{message} ({'; '.join(details)})" if details else message


def attempt(action: Callable[[], T]) -> tuple[bool, T | None]:
    """Run ``action`` in a savepoint; flash what went wrong.  Returns (succeeded, result)."""
    session = get_db()
    try:
        with session.begin_nested():
            return True, action()
    except PermissionDenied:
        raise
    except TicketflowError as exc:
        flash(describe(exc), "error")
        return False, None


def attempt_validated(action: Callable[[], T]) -> tuple[T | None, ValidationError | None]:
    """Like :func:`attempt`, but hands a :class:`ValidationError` back instead of flashing it."""
    session = get_db()
    try:
        with session.begin_nested():
            return action(), None
    except ValidationError as exc:
        return None, exc
    except PermissionDenied:
        raise
    except TicketflowError as exc:
        flash(describe(exc), "error")
        return None, None


def local_target(default: str) -> str:
    """The ``next`` form field when it is a path on this site, otherwise ``default``."""
    return redirects.safe_path(request.form.get("next")) or default


def back_to(target: str) -> ResponseReturnValue:
    """Redirect after a POST (303: the browser follows with a GET), only within this site."""
    return redirects.redirect_to(target, default="/")


def flash_done(message: str) -> None:
    """Flash a success message."""
    flash(message, "message")


def _(text: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext`` with a type (the library is untyped); extracted as ``_``."""
    return str(gettext(text, **variables))
