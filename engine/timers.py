"""ISO 8601 durations, read the way SpiffWorkflow reads timer expressions."""

from __future__ import annotations

from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from core.errors import FieldMessage, ValidationError
from core.i18n import N_


def parse_duration(value: str, *, start: datetime | None = None) -> timedelta:
    """``P3D``, ``PT4H``, ``P1M`` … as a timedelta from ``start`` (months vary in length)."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(value)
        delta: timedelta = TimerEventDefinition.get_timedelta_from_start(parsed, start)
    except Exception:  # SpiffWorkflow raises a bare Exception for a bad duration
        raise ValidationError(
            N_("invalid duration"),
            errors={"duration": [FieldMessage(N_("%(value)r is not an ISO 8601 duration"), value=value)]},
        ) from None
    return delta
