"""The error hierarchy that every layer understands.

Services raise these; the web, API and CLI layers turn them into a page, a JSON error body
or an exit message.  Each carries a stable ``code`` for clients and a human ``message``.
"""

from __future__ import annotations


class TicketflowError(Exception):
    """Base class of the errors a user can cause and should be told about."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ConfigurationError(TicketflowError):
    """The environment does not describe a usable installation."""

    code = "configuration_error"
    http_status = 500


class ValidationError(TicketflowError):
    """Input is malformed; ``errors`` maps field names to messages."""

    code = "validation_error"
    http_status = 422


class PermissionDenied(TicketflowError):
    """The actor may not do this (OTRS group permissions, flags or roles)."""

    code = "permission_denied"
    http_status = 403


class NotFound(TicketflowError):
    """The object does not exist, or the actor may not know that it exists."""

    code = "not_found"
    http_status = 404


class Conflict(TicketflowError):
    """The object is in a state that forbids this now (locked, merged, already done)."""

    code = "conflict"
    http_status = 409


class DeletionForbidden(TicketflowError):
    """Tickets, articles and history rows are never deleted or rewritten."""

    code = "deletion_forbidden"
    http_status = 405
