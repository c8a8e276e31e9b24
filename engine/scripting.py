"""The script engine handed to SpiffWorkflow: restricted expressions, registered operators.

SpiffWorkflow evaluates through both ``script_engine.evaluate/execute`` and
``script_engine.environment`` (message correlations), so both are replaced.  The engine is
not serialized with a workflow: :mod:`engine.serialization` sets it again on every load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from core.i18n import N_
from engine import expressions, iso_timers
from engine.errors import ProcessError, UnsafeExpression

# (task, operator name, evaluated parameters) → JSON-able result
OperatorRunner = Callable[[Any, str, dict[str, Any]], Any]


class SafeEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Evaluates with :mod:`engine.expressions`; never ``eval`` or ``exec``."""

    def evaluate(
        self, expression: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        return expressions.evaluate(expression, {**(external_context or {}), **context})

    def execute(
        self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> bool:
        expressions.run_script(script, context)
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> str:
        raise ProcessError("service tasks run through the script engine")


class TicketflowScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Restricted expressions and scripts; service tasks call registered operators."""

    def __init__(self, runner: OperatorRunner | None = None) -> None:
        super().__init__(environment=SafeEnvironment())
        self.runner = runner

    def validate(self, expression: str) -> None:
        expressions.check_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
        timer_kind = iso_timers.kind_of(definition)
        if timer_kind is not None and expression == getattr(definition, "expression", None):
            # Modelers write ISO literals (P7D, R3/PT1H); only anything else is an expression.
            literal = iso_timers.literal(expression or "")
            value = literal if literal is not None else super().evaluate(task, expression, external_context)
            return iso_timers.checked(timer_kind, value)
        result = super().evaluate(task, expression, external_context)
        # A multi-instance task creates this many children at once: ``10**8`` is no list, so
        # the size checks of the expression language do not see it.
        cardinality = getattr(getattr(task, "task_spec", None), "cardinality", None)
        is_cardinality = expression is not None and expression == cardinality
        if is_cardinality and (not isinstance(result, int) or not 0 <= result <= expressions.MAX_SEQUENCE):
            raise UnsafeExpression(
                f"a multi-instance task runs 0 to {expressions.MAX_SEQUENCE} times, not {result!r}"
            )
        return result

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:
        if self.runner is None:
            raise ProcessError(
                N_("operator %(name)s called outside of a ticket's process"), name=operation_name
            )
        params = {name: spec["value"] for name, spec in operation_params.items()}
        return json.dumps(self.runner(task, operation_name, params))
