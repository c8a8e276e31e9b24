"""Server-side validation of task forms against their JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from core.errors import ValidationError


def validate_form(schema: Mapping[str, Any] | None, data: Any) -> dict[str, Any]:
    """Return ``data`` when it satisfies ``schema``; otherwise raise with one message per field.

    A task without a form accepts only an empty submission, so nothing unchecked reaches the
    process data.
    """
    if not isinstance(data, dict):
        raise ValidationError("the form data must be an object", errors={"_form": ["expected an object"]})
    if schema is None:
        if data:
            raise ValidationError("this task takes no form data", errors={"_form": ["no fields expected"]})
        return {}
    errors: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(data):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required" and not path:
            # "'x' is a required property" belongs to the missing field, not the form.
            missing = error.message.split("'")[1] if "'" in error.message else "_form"
            errors.setdefault(missing, []).append("this field is required")
            continue
        errors.setdefault(".".join(path) or "_form", []).append(error.message)
    if errors:
        raise ValidationError("the form has errors", errors=errors)
    return dict(data)
