"""Errors of the process engine."""

from __future__ import annotations

from core.errors import Conflict, ValidationError
from core.i18n import N_


class ProcessValidationError(ValidationError):
    """A diagram (or its forms) cannot be deployed; ``problems`` lists every reason."""

    code = "invalid_process"

    def __init__(self, problems: list[str]) -> None:
        # Each problem is a msgid (a FieldMessage when it names elements or files), so the
        # designer and the error page show them in the reader's language.
        super().__init__(
            N_("the process cannot be deployed: %(problems)s"),
            errors={"bpmn": problems},
            problems="; ".join(problems[:5]),
        )
        self.problems = problems


class UnsafeExpression(ValidationError):
    """An expression or script uses something outside the allowed, bounded language."""

    code = "unsafe_expression"

    def __init__(self, message: str) -> None:
        super().__init__(message, errors={"expression": [message]})


class TaskAlreadyDone(Conflict):
    """The task was completed (or cancelled) before; the message says by whom and when."""

    code = "task_already_done"


class ProcessError(Conflict):
    """The process instance cannot go on (an operator or expression failed at run time)."""

    code = "process_error"


class TaskClaimed(Conflict):
    """Another agent holds the task (claimed it first); the message names them."""

    code = "task_claimed"


class TaskChanged(Conflict):
    """The task row changed between reading and writing it (a lost race); reload and retry."""

    code = "task_changed"
