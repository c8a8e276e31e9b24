"""ISO 8601 timer values as modelers write them, with the limits that keep timers harmless.

Every BPMN modeler writes a timer as an ISO 8601 literal: ``P7D`` (a duration), ``R6/P1D``
(a cycle), ``2026-12-24T09:00:00Z`` (a date).  SpiffWorkflow evaluates the text as an
expression, so such a literal is an unknown name there; here a literal is taken as the value
it spells and only anything else goes to the restricted expression language.

A cycle is the one timer that can hurt: ``R/PT0S`` fires again at once, for ever, inside one
advance.  Cycles therefore repeat at most every :data:`MIN_CYCLE_SECONDS` and at most
:data:`MAX_CYCLES` times (an unbounded ``R/…`` is capped to that); a shorter interval is
refused at deploy time when it is a literal and at run time when an expression computes it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from engine.errors import UnsafeExpression

MIN_CYCLE_SECONDS = 60
MAX_CYCLES = 1000

_DURATION = re.compile(
    r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(?:[.,]\d+)?S)?)?", re.I
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?", re.I)
_CYCLE = re.compile(r"R\d*/[^/\s]+(/[^/\s]+)?", re.I)

KINDS = {"timeDuration": "duration", "timeDate": "date", "timeCycle": "cycle"}


def kind_of(definition: object) -> str | None:
    """``duration``, ``date`` or ``cycle`` for SpiffWorkflow's timer definitions, else None."""
    if isinstance(definition, CycleTimerEventDefinition):
        return "cycle"
    if isinstance(definition, DurationTimerEventDefinition):
        return "duration"
    if isinstance(definition, TimeDateEventDefinition):
        return "date"
    return None


# What a modeler meant as a literal, even when it is malformed (``P7X``, ``R/PTS``): such a
# text is checked as ISO 8601 and refused with that reason, not read as an unknown name.
_LOOKS_ISO = re.compile(r"(P\d|PT\d|R\d*/|\d{4}-)[0-9A-Za-z.,:/+\-]*")


def literal(text: str) -> str | None:
    """The ISO 8601 value ``text`` spells (without quotes), or None when it is an expression."""
    value = text.strip()
    for pattern in (_DURATION, _DATE, _CYCLE, _LOOKS_ISO):
        if pattern.fullmatch(value):
            return value
    return None


def checked(kind: str, value: object) -> str:
    """``value`` as the timer of ``kind`` will read it; an unusable or harmful one raises.

    A date without a zone is read as UTC (SpiffWorkflow would read it in the server's zone);
    a cycle comes back with its repetitions capped.
    """
    if isinstance(value, datetime) and kind == "date":
        value = value.isoformat()
    if not isinstance(value, str) or not value.strip():
        raise UnsafeExpression(f"a {kind} timer needs an ISO 8601 text, not {value!r}")
    text = value.strip()
    try:
        if kind == "duration":
            parsed = TimerEventDefinition.parse_iso_duration(text)
            TimerEventDefinition.get_timedelta_from_start(parsed)
            return text
        if kind == "date":
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.isoformat()
        return _checked_cycle(text)
    except UnsafeExpression:
        raise
    except Exception:  # SpiffWorkflow raises bare Exceptions and ValueErrors for bad values
        example = {"duration": "P7D or PT4H", "date": "2026-12-24T09:00:00Z", "cycle": "R3/PT1H"}[kind]
        raise UnsafeExpression(f"{text!r} is not an ISO 8601 {kind} (like {example})") from None


def _checked_cycle(text: str) -> str:
    if not _CYCLE.fullmatch(text):
        raise ValueError(text)
    cycles, _start, duration = TimerEventDefinition.parse_iso_recurring_interval(text)
    if duration < timedelta(seconds=MIN_CYCLE_SECONDS):
        raise UnsafeExpression(
            f"a timer cycle repeats at most every {MIN_CYCLE_SECONDS} seconds, "
            f"not every {duration.total_seconds():g} seconds ({text})"
        )
    if cycles < 0 or cycles > MAX_CYCLES:
        text = f"R{MAX_CYCLES}/{text.split('/', 1)[1]}"
    return text
