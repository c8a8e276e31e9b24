"""A typed face for flask-smorest, which ships no type information.

Views are declared with :class:`ApiBlueprint`; its decorators keep the decorated
function's type, so mypy (strict) still checks the views themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask_smorest

F = TypeVar("F", bound=Callable[..., Any])


class ApiBlueprint:
    """One resource of the API: a flask-smorest blueprint and its typed decorators."""

    def __init__(self, name: str, *, url_prefix: str, description: str) -> None:
        self.smorest: Any = flask_smorest.Blueprint(
            name, __name__, url_prefix=url_prefix, description=description
        )

    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        """Register a view for ``rule`` (``methods=[…]`` as in Flask)."""
        return cast(Callable[[F], F], self.smorest.route(rule, **options))

    def arguments(self, schema: Any, **options: Any) -> Callable[[F], F]:
        """Parse and validate input with ``schema``; the result is the view's first argument."""
        return cast(Callable[[F], F], self.smorest.arguments(schema, **options))

    def response(self, status: int, schema: Any = None, **options: Any) -> Callable[[F], F]:
        """Serialize the view's return value with ``schema`` (and document it)."""
        return cast(Callable[[F], F], self.smorest.response(status, schema, **options))

    def alt_response(self, status: int, **options: Any) -> Callable[[F], F]:
        """Document another response of the view."""
        return cast(Callable[[F], F], self.smorest.alt_response(status, **options))

    def doc(self, **options: Any) -> Callable[[F], F]:
        """Add raw OpenAPI documentation to the view."""
        return cast(Callable[[F], F], self.smorest.doc(**options))
