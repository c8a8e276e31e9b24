"""The API's one error body: ``{"code", "message", "errors"}`` for every error.

Ticketflow errors keep their own code and status; HTTP errors (routing, webargs
validation, malformed JSON) are translated; a lost optimistic-lock race is a 409.  Errors
outside ``/api/`` still get the HTML pages of :mod:`web.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from core.errors import TicketflowError

log = logging.getLogger(__name__)

API_PATH = "/api/"

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
}
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class Unauthorized(TicketflowError):
    """No valid API token was sent."""

    code = "unauthorized"
    http_status = 401


class PreconditionFailed(TicketflowError):
    """The client's ``If-Match`` names an older version of the ticket."""

    code = "precondition_failed"
    http_status = 412


def error_response(
    status: int, code: str, message: str, errors: Mapping[str, list[str]] | None = None
) -> Response:
    """The JSON error response every API error becomes."""
    response = jsonify({"code": code, "message": message, "errors": dict(errors or {})})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ticketflow"'
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages (nested by location and field) as ``field → [texts]``."""
    result: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, texts in flatten_messages(value, name).items():
                result.setdefault(field, []).extend(texts)
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        result[prefix or "_"] = [str(m) for m in messages]
    elif isinstance(messages, list | tuple):
        for index, value in enumerate(messages):
            for field, texts in flatten_messages(value, f"{prefix}.{index}").items():
                result.setdefault(field, []).extend(texts)
    else:
        result[prefix or "_"] = [str(messages)]
    return result


def _strip_location(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    # webargs nests by location ("json.title"); clients know where they sent a field.
    stripped: dict[str, list[str]] = {}
    for key, texts in errors.items():
        location, _, field = key.partition(".")
        name = field if location in ("json", "query", "form", "files", "headers") and field else key
        stripped.setdefault(name, []).extend(texts)
    return stripped


def http_error(exc: HTTPException) -> Response:
    """An HTTP error (including webargs' validation aborts) as the API error body."""
    status = exc.code or 500
    data = getattr(exc, "data", None)
    messages = data.get("messages") if isinstance(data, Mapping) else None
    if status >= 500:
        log.error("API request failed: %s", exc)
        response = error_response(status, "server_error", "the server could not handle this request")
    elif messages:
        errors = _strip_location(flatten_messages(messages))
        message = "malformed request body" if status == 400 else "the input is not valid"
        response = error_response(status, _CODES.get(status, "error"), message, errors)
    else:
        response = error_response(status, _CODES.get(status, "error"), exc.description or exc.name)
    for name, value in exc.get_headers():
        if name in _KEPT_HEADERS:
            response.headers[name] = value
    return response


def ticketflow_error(exc: TicketflowError) -> Response:
    """A service error with its own code, message, field errors and status."""
    if exc.http_status >= 500:
        log.error("%s: %s", exc.code, exc.message)
        return error_response(exc.http_status, "server_error", "the server could not handle this request")
    return error_response(exc.http_status, exc.code, exc.message, exc.errors)


def stale_data(_exc: StaleDataError) -> Response:
    """Another request changed the same row first (optimistic locking)."""
    return error_response(409, "conflict", "someone else changed this in the meantime; reload and retry")


def register_blueprint_handlers(blueprints: list[Any]) -> None:
    """JSON for service errors and lost races inside the API's blueprints (once, at import)."""
    for blueprint in blueprints:
        blueprint.register_error_handler(TicketflowError, ticketflow_error)
        blueprint.register_error_handler(StaleDataError, stale_data)


def register_app_handler(app: Flask) -> None:
    """JSON for every HTTP error under ``/api/``, the HTML pages elsewhere.

    Routing errors (an unknown path, a wrong method) belong to no blueprint, so the app's
    HTTP error handler is wrapped: under ``/api/`` it answers JSON, elsewhere it is the
    handler it was.
    """
    previous: Callable[[HTTPException], Any] | None = app.error_handler_spec[None][None].get(HTTPException)

    def handle(exc: HTTPException) -> Any:
        if request.path.startswith(API_PATH) or previous is None:
            return http_error(exc)
        return previous(exc)

    app.register_error_handler(HTTPException, handle)
