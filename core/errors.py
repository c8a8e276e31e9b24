"""The error hierarchy that every layer understands.

Services raise these; the web, API and CLI layers turn them into a page, a JSON error body
or an exit message.  Each carries a stable ``code`` for clients and a human ``message``.

Messages are translated at the edge, not where they are raised (the layer that raises knows
no request and no language): the first argument is a message id, marked with
``core.i18n.N_`` so ``make translations`` extracts it, with named ``%(name)s`` placeholders
whose values come as keyword arguments::

    raise TicketLocked(N_("ticket %(number)s is locked by %(holder)s"), number=..., holder=...)

``message`` is the English text (logs, the API's ``message``, the CLI); the web shows
:meth:`TicketflowError.translated` in the request's language.  Field messages in ``errors``
are message ids, either without placeholders or, when they name something, a
:class:`FieldMessage`::

    errors={"queue": [FieldMessage(N_("%(queue)s is not active"), queue=queue.name)]}

:meth:`TicketflowError.translated_errors` translates both (a text that is no msgid, such as a
JSON Schema validator's, stays as it is).  A message built with an f-string cannot be
translated: the catalog has no entry for each name it might contain.
"""

from __future__ import annotations

from typing import Any

from core.i18n import Gettext, interpolate


class FieldMessage(str):
    """A message id with named parameters that reads as its English text.

    It is a ``str`` (the English text), so the API's error body, the CLI and the logs need
    nothing new; :func:`translate` gives it in another language, the parameters filled in
    after the lookup.
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> FieldMessage:
        """``msgid`` (marked with ``N_``) and the values of its ``%(name)s`` placeholders."""
        text = super().__new__(cls, interpolate(msgid, msgid, params))
        text.msgid = msgid
        text.params = params
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies (and pickles) keep the msgid and parameters, not only the English text.
        return (_field_message, (self.msgid, self.params))


def _field_message(msgid: str, params: dict[str, Any]) -> FieldMessage:
    return FieldMessage(msgid, **params)


def translate(message: str, gettext: Gettext) -> str:
    """``message`` (a msgid, a :class:`FieldMessage` or any text) in the language of ``gettext``.

    A parameter that is a :class:`FieldMessage` itself (a step's name before the operator's
    reason) is translated too.
    """
    if isinstance(message, FieldMessage):
        return interpolate(gettext(message.msgid), message.msgid, _translated_params(message.params, gettext))
    return gettext(message)


def _translated_params(params: dict[str, Any], gettext: Gettext) -> dict[str, Any]:
    return {k: translate(v, gettext) if isinstance(v, FieldMessage) else v for k, v in params.items()}


class TicketflowError(Exception):
    """Base class of the errors a user can cause and should be told about."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **params: Any) -> None:
        self.msgid = message
        self.params = params
        self.message = interpolate(message, message, params)
        super().__init__(self.message)
        self.errors = errors or {}

    def translated(self, gettext: Gettext) -> str:
        """The message in the language of ``gettext`` (``_(msgid)`` without parameters)."""
        return interpolate(gettext(self.msgid), self.msgid, _translated_params(self.params, gettext))

    def translated_errors(self, gettext: Gettext) -> dict[str, list[str]]:
        """The field messages in the language of ``gettext``."""
        return {name: [translate(m, gettext) for m in messages] for name, messages in self.errors.items()}


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
