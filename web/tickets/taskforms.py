"""Task forms: a user task's JSON Schema shown as HTML fields, and the submission read back.

The schema is the one the process was deployed with (``ProcessInstance.forms``); the runtime
validates the submission against it again, so this module only turns form fields into JSON
values: checkboxes into booleans, numbers parsed, empty optional fields dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from core.errors import ValidationError
from desk.actor import Actor
from desk.permission import service as permissions

# ``"x-requires": "<capability>"`` on a choice (a ``oneOf``/``anyOf`` entry) hides it from an
# agent who lacks that capability.  Only the offer: the server refuses the choice anyway.
REQUIRES = "x-requires"
CONTACT_CUSTOMERS = "contact_customers"

# More choices than this become a select instead of radio buttons.
MAX_RADIOS = 6
# Strings that may be longer than this get a text area.
SHORT_TEXT = 200


@dataclass
class FormField:
    """One field of a task form, ready for the template."""

    name: str
    title: str
    description: str
    widget: str  # radio, select, text, email, textarea, checkbox, number
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: str = "1"
    value: Any = None
    errors: list[str] = field(default_factory=list)
    # ``"x-agents-role": "<role>"`` on a login field: the form suggests that role's members
    # who are not away (S11); only a suggestion, the lane rules decide.
    agents_role: str | None = None


def capabilities_of(actor: Actor) -> frozenset[str]:
    """What ``actor`` may do that a form's choices can require (see :data:`REQUIRES`)."""
    return frozenset({CONTACT_CUSTOMERS} if permissions.may_contact_customers(actor) else ())


def _choices(spec: Mapping[str, Any], capabilities: Collection[str] | None) -> list[tuple[str, str]] | None:
    if isinstance(spec.get("enum"), list):
        return [(str(v), str(v)) for v in spec["enum"]]
    for key in ("oneOf", "anyOf"):
        options = spec.get(key)
        if (
            isinstance(options, list)
            and options
            and all(isinstance(o, dict) and "const" in o for o in options)
        ):
            return [
                (str(o["const"]), str(o.get("title", o["const"])))
                for o in options
                if capabilities is None or o.get(REQUIRES) is None or o[REQUIRES] in capabilities
            ]
    return None


def fields_of(
    schema: Mapping[str, Any] | None,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    capabilities: Collection[str] | None = None,
) -> list[FormField]:
    """The fields of ``schema`` (top-level properties), with submitted values and errors.

    With ``capabilities`` (:func:`capabilities_of` the agent), choices that require something
    else are left out, so the form does not offer what the server would refuse.
    """
    if not schema:
        return []
    values = values or {}
    errors = errors or {}
    required = set(schema.get("required", []))
    result: list[FormField] = []
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        kind = spec.get("type")
        choices = _choices(spec, capabilities)
        item = FormField(
            name=name,
            title=str(spec.get("title", name)),
            description=str(spec.get("description", "")),
            widget="text",
            required=name in required,
            value=values.get(name, spec.get("default")),
            errors=list(errors.get(name, [])),
            agents_role=str(spec["x-agents-role"]) if isinstance(spec.get("x-agents-role"), str) else None,
        )
        if choices is not None:
            item.options = choices
            item.widget = "radio" if len(choices) <= MAX_RADIOS else "select"
        elif kind == "boolean":
            item.widget = "checkbox"
        elif kind in ("integer", "number"):
            item.widget = "number"
            item.minimum = spec.get("minimum")
            item.maximum = spec.get("maximum")
            item.step = "1" if kind == "integer" else "any"
        else:
            item.min_length = spec.get("minLength")
            item.max_length = spec.get("maxLength")
            if spec.get("format") == "email":
                item.widget = "email"
            elif spec.get("format") == "textarea" or item.max_length is None or item.max_length > SHORT_TEXT:
                item.widget = "textarea"
        result.append(item)
    return result


def form_errors(schema: Mapping[str, Any] | None, errors: Mapping[str, list[str]]) -> list[str]:
    """Errors that belong to no field shown (the whole form, or an unknown field)."""
    names = set((schema or {}).get("properties") or {})
    return [message for name, messages in errors.items() if name not in names for message in messages]


def parse_submission(schema: Mapping[str, Any] | None, form: MultiDict[str, str]) -> dict[str, Any]:
    """The JSON data of a submitted task form; raises :class:`ValidationError` for bad numbers."""
    if not schema:
        return {}
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        kind = spec.get("type")
        if kind == "boolean":
            data[name] = form.get(name) in ("on", "true", "1", "yes")
            continue
        raw = form.get(name, "")
        if not raw.strip():
            continue  # empty optional fields are dropped; a required one fails validation
        if kind == "integer":
            try:
                data[name] = int(raw.strip())
            except ValueError:
                errors[name] = ["enter a whole number"]
        elif kind == "number":
            try:
                data[name] = float(raw.strip())
            except ValueError:
                errors[name] = ["enter a number"]
        else:
            data[name] = raw
    if errors:
        raise ValidationError("the form has errors", errors=errors)
    return data
