"""Rows named by a form field or a URL of the queue, text and state pages.

A value that cannot be a row id (not a number, 0, beyond the 32-bit ids of the database) is
simply "not found": it must never reach a query, where PostgreSQL would refuse it with an
error instead of an empty result.
"""

from __future__ import annotations

from typing import TypeVar

from flask import abort

from core.db import Base
from web.admin.forms import int_list, optional_int
from web.db import get_db
from web.tickets.support import MAX_ID

M = TypeVar("M", bound=Base)


def valid_id(value: int | None) -> int | None:
    """``value`` when it can be a row id, else None."""
    return value if value is not None and 0 < value <= MAX_ID else None


def row(model: type[M], value: str | int | None) -> M | None:
    """The row of ``model`` with the id in ``value`` (a form string or a number), else None."""
    number = value if isinstance(value, int) else optional_int(value)
    found = valid_id(number)
    return get_db().get(model, found) if found is not None else None


def row_or_404(model: type[M], value: int) -> M:
    """The row a URL names, or the 404 page."""
    found = row(model, value)
    if found is None:
        abort(404)
    return found


def ids(name: str) -> list[int]:
    """The row ids of the repeated form field ``name`` (anything else is left out)."""
    return [value for value in int_list(name) if valid_id(value) is not None]
