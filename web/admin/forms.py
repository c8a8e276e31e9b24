"""Small helpers the administration views share: the checked actor and typed form values."""

from __future__ import annotations

from collections.abc import Mapping

from flask import request

from desk.agent.models import Agent
from desk.permission.service import require_admin
from web.auth.users import current_agent
from web.db import get_db


def admin_actor() -> Agent:
    """The signed-in agent, refused (403) unless they administer the system.

    Views that read the form before calling a service ask this first, so an observer or a
    non-administrator gets 403, never a 422 that describes the input.
    """
    agent = current_agent()
    require_admin(get_db(), agent)
    return agent


def checked(name: str, form: Mapping[str, str] | None = None) -> bool:
    """True when the checkbox ``name`` was ticked."""
    return (form if form is not None else request.form).get(name) in ("on", "1", "true", "yes")


# Ids and page numbers are 32-bit in the database; a bigger number would fail the query.
_MAX_INT = 2**31 - 1


def optional_int(value: str | None) -> int | None:
    """The integer in ``value``, or None when it is empty, not a number or out of range."""
    try:
        number = int(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number <= _MAX_INT else None


def int_list(name: str) -> list[int]:
    """Every integer value of the repeated form field ``name`` (others are ignored)."""
    values = [optional_int(v) for v in request.form.getlist(name)]
    return [v for v in values if v is not None]


def page_number() -> int:
    """The ``page`` query argument (1 when missing or bad)."""
    return min(max(optional_int(request.args.get("page")) or 1, 1), 100_000)
