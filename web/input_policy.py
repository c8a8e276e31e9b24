"""One input policy for every request, checked before any view (or parser) sees the input.

- **Size**: a body larger than ``MAX_CONTENT_LENGTH`` (``TICKETFLOW_MAX_REQUEST_BYTES``,
  30 MiB: attachments may be 25 MB) is 413 before it is read; Werkzeug enforces the same
  limit on bodies sent without a length while they are read.
- **JSON depth**: a JSON body nested deeper than :data:`MAX_JSON_DEPTH` is 400.  The depth is
  measured on the bytes (strings cut out by one regular expression, then a running sum of
  the brackets), so no recursive parser ever sees a 100,000-deep document.
- **Text**: every string of the query, the form fields, the file names and the JSON body
  (keys too) must be valid Unicode without NUL (:func:`core.text.text_problem`); otherwise
  the request is 422 naming each bad field: the API's error body under ``/api/``, the error
  page elsewhere.  Mail-derived text is repaired instead, in :mod:`mail.inbound.parse`.

Flask's own limits stay as they are: ``MAX_FORM_MEMORY_SIZE`` (500 kB per non-file form
field) and ``MAX_FORM_PARTS`` (1,000) also answer 413.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

from flask import Flask, Response, current_app, request
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from core.config import Settings
from core.text import scrub, text_problem
from web.api.errors import API_PATH, error_response
from web.errors import render_error

__all__ = ["MAX_JSON_DEPTH", "init_app", "json_too_deep", "text_problems"]

MAX_JSON_DEPTH = 64
# Endpoints whose form refuses bad characters itself, with a field error on the form.
SELF_VALIDATING_ENDPOINTS = frozenset({"auth.login"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A JSON string, escapes included (the unrolled form: no backtracking on long strings).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
# Opening brackets become 1 and closing ones 255, which a signed byte array reads as -1.
_STEPS = bytes.maketrans(_BRACKETS, b"\x01\xff\x01\xff")


def init_app(app: Flask, settings: Settings) -> None:
    """Set the body size limit and check every request of ``app`` against the policy."""
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.before_request(check_request)


def json_too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON document ``data`` nests arrays and objects deeper than ``limit``.

    Brackets inside strings do not count.  For an invalid document the answer errs towards
    "too deep", which is refused as well.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # the common case: too few brackets to be deep, no scan needed
    steps = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS).translate(_STEPS)
    return max(accumulate(array("b", steps)), default=0) > limit


def text_problems(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(field, problem)`` for every string in a parsed JSON value that cannot be stored.

    Recursive, so call it only on a document :func:`json_too_deep` let through.
    """
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield path or "_", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            problem = text_problem(str(key))
            if problem:
                yield name, f"field name {problem}"
            yield from text_problems(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from text_problems(item, f"{path}.{index}" if path else str(index))


def check_request() -> Response | None:
    """``before_request``: refuse what breaks the policy (see the module docstring)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    if request.endpoint in SELF_VALIDATING_ENDPOINTS:
        return None
    found = list(_pairs_problems(request.args.items(multi=True)))
    if request.method in _BODY_METHODS:
        if request.is_json:
            if json_too_deep(request.get_data(cache=True)):
                return _too_deep()
            found.extend(text_problems(request.get_json(silent=True)))
        else:
            found.extend(_pairs_problems(request.form.items(multi=True)))
            for name, upload in request.files.items(multi=True):
                problem = text_problem(upload.filename or "")
                if problem:
                    found.append((name, f"file name {problem}"))
    if not found:
        return None
    errors: dict[str, list[str]] = {}
    for field, problem in found:
        # The name itself may be the bad text; the error body and page must stay printable.
        errors.setdefault(scrub(field), []).append(problem)
    return _invalid_text(errors)


def _pairs_problems(pairs: Iterable[tuple[str | None, str | None]]) -> Iterator[tuple[str, str]]:
    for raw_name, raw_value in pairs:
        # A multipart part with a malformed name (``name="\"``) comes back without one.
        name, value = raw_name or "", raw_value or ""
        for problem in (text_problem(name), text_problem(value)):
            if problem:
                yield name, problem


def _too_deep() -> Response:
    if request.path.startswith(API_PATH):
        problem = f"nested deeper than {MAX_JSON_DEPTH} levels"
        return error_response(400, "bad_request", "malformed request body", {"json": [problem]})
    return render_error(400)


def _invalid_text(errors: dict[str, list[str]]) -> Response:
    if request.path.startswith(API_PATH):
        return error_response(422, "validation_error", "the input is not valid", errors)
    message = gettext(
        "These fields contain characters that cannot be stored (NUL or invalid Unicode): %(fields)s",
        fields=", ".join(sorted(errors)),
    )
    return render_error(422, reason="invalid_text", message=str(message))
