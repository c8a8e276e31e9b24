"""BPMN data stores, scoped to the process instance or to the ticket.

SpiffWorkflow 3.2 parses ``bpmn:dataStore`` and ``dataStoreReference`` but ships no store
(its application adds KKV and JSON stores backed by its own tables).  Ours keep their values
inside the workflow's own data, so they are saved with the instance and need no table:

* ``process`` scope (the default): one value per store for this instance;
* ``ticket`` scope (``<spiffworkflow:property name="scope" value="ticket"/>`` on the data
  store): the value lives on with the ticket: a new instance of the ticket starts with the
  values its newest earlier instance left (:func:`ticket_values_of`).  Two instances running
  at once each see the values as of their start.

A task reads a store through a data input association (the value appears in its data under
the store's id) and writes through a data output association (the task data value of that
name is moved into the store).
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataStoreSpecification

SCOPES = ("process", "ticket")
# The key of the workflow data that holds every store's value, by scope then store id.
DATA_KEY = "ticketflow_data_stores"


class ScopedDataStore(BpmnDataStoreSpecification):  # type: ignore[misc]
    """A data store whose values are kept in the top workflow's data."""

    def __init__(
        self,
        bpmn_id: str,
        bpmn_name: str | None,
        capacity: Any = None,
        is_unlimited: Any = None,
        scope: str = "process",
    ) -> None:
        super().__init__(bpmn_id, bpmn_name, capacity, is_unlimited)
        self.scope = scope if scope in SCOPES else "process"

    def _values(self, my_task: Any) -> dict[str, Any]:
        top = my_task.workflow.top_workflow
        stores = top.data.setdefault(DATA_KEY, {})
        values: dict[str, Any] = stores.setdefault(self.scope, {})
        return values

    def get(self, my_task: Any, **kwargs: Any) -> None:
        """Copy the store's value into the task's data (absent: ``None``)."""
        my_task.data[self.bpmn_id] = deepcopy(self._values(my_task).get(self.bpmn_id))

    def set(self, my_task: Any, **kwargs: Any) -> None:
        """Move the task-data value named like the store into the store."""
        if self.bpmn_id not in my_task.data:
            message = (
                f"the data store {self.bpmn_id!r} cannot be written: the task has no value {self.bpmn_id!r}"
            )
            raise WorkflowDataException(message, my_task, data_output=self)
        self._values(my_task)[self.bpmn_id] = deepcopy(my_task.data.pop(self.bpmn_id))


def to_dict(spec: ScopedDataStore) -> dict[str, Any]:
    """Serializer hook: a store spec as JSON."""
    return {
        "bpmn_id": spec.bpmn_id,
        "bpmn_name": spec.bpmn_name,
        "capacity": spec.capacity,
        "is_unlimited": spec.is_unlimited,
        "scope": spec.scope,
    }


def from_dict(dct: dict[str, Any]) -> ScopedDataStore:
    """Serializer hook: a store spec from JSON."""
    return ScopedDataStore(
        dct["bpmn_id"],
        dct.get("bpmn_name"),
        dct.get("capacity"),
        dct.get("is_unlimited"),
        dct.get("scope", "process"),
    )


def ticket_values_of(workflow_json: str) -> dict[str, Any]:
    """The ticket-scoped store values an (earlier) instance's stored workflow holds."""
    try:
        stored = json.loads(workflow_json)
    except ValueError:
        return {}
    data = stored.get("data") if isinstance(stored, dict) else None
    stores = data.get(DATA_KEY) if isinstance(data, dict) else None
    values = stores.get("ticket") if isinstance(stores, dict) else None
    return dict(values) if isinstance(values, dict) else {}


def seed(workflow: Any, ticket_values: dict[str, Any]) -> None:
    """Give a new workflow the ticket's store values."""
    if ticket_values:
        workflow.data.setdefault(DATA_KEY, {})["ticket"] = deepcopy(ticket_values)
