"""Turning Ticketflow errors into a message and exit status 1 instead of a trace."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from core.errors import TicketflowError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Report a :class:`TicketflowError` (and its field errors) as a click error message."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TicketflowError as exc:
            details = "".join(f"\n  {field}: {'; '.join(msgs)}" for field, msgs in exc.errors.items())
            raise click.ClickException(f"{exc.message}{details}") from None

    return wrapper  # type: ignore[return-value]
