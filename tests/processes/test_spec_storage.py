"""Bytes per live instance: the definition is stored once per hash, instances hold their state."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from engine import runtime, serialization
from engine.models import ProcessInstance, ProcessSpec
from tests.processes.support import complete, one_task

# Issue 16's target for a live ticket_handling instance (it stored 57 KB with the definition).
STATE_LIMIT = 20_000
# What ten finished ask-the-customer loops may add in all (compaction keeps the trunk flat).
LOOP_GROWTH_LIMIT = 10 * 1_000


def _bytes(instance: ProcessInstance) -> int:
    return len(instance.workflow_json.encode())


def test_two_instances_share_one_stored_definition_and_keep_only_their_state(session, agent, start_process):
    first, second = start_process(), start_process(title="A second ticket")

    assert first.spec_hash is not None
    assert first.spec_hash == second.spec_hash
    stored = json.loads(first.workflow_json)
    assert "spec" not in stored
    assert "subprocess_specs" not in stored
    assert stored["spec_hash"] == first.spec_hash
    assert _bytes(first) <= STATE_LIMIT
    rows = session.scalar(
        select(func.count()).select_from(ProcessSpec).where(ProcessSpec.hash == first.spec_hash)
    )
    assert rows == 1
    spec = session.get(ProcessSpec, first.spec_hash)
    assert "ticket_handling" in spec.spec_json
    # The row holds the definition the hash names.
    assert serialization.spec_hash(spec.spec_json) == first.spec_hash


def test_an_instance_loads_from_the_stored_definition_in_a_fresh_process(session, agent, start_process):
    """With the in-process caches empty (another worker), the definition is read from its row."""
    instance = start_process()
    serialization._spec_texts.clear()
    serialization._restored.clear()

    complete(session, agent("secretary"), instance, "Triage", decision="move", target_queue="2nd level")

    assert one_task(session, instance, "Work").name == "Work"


def test_the_stored_state_does_not_grow_with_finished_ask_the_customer_loops(session, agent, start_process):
    bob = agent("bob")
    instance = start_process()
    complete(session, agent("secretary"), instance, "Triage", decision="move", target_queue="2nd level")
    sizes = []
    for n in range(10):
        complete(session, bob, instance, "Work", action="ask_customer", question=f"Question {n}?")
        assert runtime.deliver_message(session, ticket=instance.ticket, name="customer_replied").status == (
            "delivered"
        )
        sizes.append(_bytes(instance))

    assert one_task(session, instance, "Work").candidate_agent_id == bob.id
    assert max(sizes) <= STATE_LIMIT, f"bytes after each loop: {sizes}"
    assert sizes[-1] - sizes[0] <= LOOP_GROWTH_LIMIT, f"bytes after each loop: {sizes}"
