"""Instance migration (issue 13, deliverable 5): running tickets finish on their version; an
admin moves a waiting instance to a newer version when its steps map, and is told which step
is missing otherwise."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.history.models import History
from desk.ticket import service as tickets
from engine import runtime
from engine.migration import MigrationRefused
from engine.models import ProcessInstance
from flows import process_migration
from tests.engine.conftest import one_task
from tests.engine.migration_diagrams import V1, V2, V3


@pytest.fixture
def two_tickets(session, deploy, start):
    deploy(V1)
    first, second = start("repair"), start("repair")
    deploy(V2)
    return first, second


def _complete(session, instance: ProcessInstance) -> str:
    runtime.complete_task(session, actor=SYSTEM, task_id=one_task(session, instance).id, data={})
    return one_task(session, instance).name


def _ticket(session, instance):
    return tickets.get_ticket(session, actor=SYSTEM, ticket_id=instance.ticket_id)


def test_a_migrated_instance_runs_the_new_version_and_the_other_finishes_on_its_own(
    session, agent, two_tickets
):
    moved, stays = two_tickets
    waiting = one_task(session, moved)
    process_migration.migrate(session, actor=agent("admin"), ticket=_ticket(session, moved), version=2)
    assert moved.process_version.version == 2
    # The waiting task is the same one (same inbox row), now followed by the approval.
    assert one_task(session, moved).id == waiting.id
    assert _complete(session, moved) == "Approve the cost"
    assert stays.process_version.version == 1
    assert _complete(session, stays) == "Repair it"

    entry = session.scalars(
        select(History).where(History.ticket_id == moved.ticket_id, History.type == "ProcessMigrate")
    ).one()
    assert (entry.old_value, entry.new_value) == ("Repair (version 1)", "Repair (version 2)")
    assert entry.comment == "waiting at Diagnose (diagnose)"


def test_a_version_without_the_waiting_step_is_refused_naming_it(session, agent, deploy, two_tickets):
    moved, _stays = two_tickets
    deploy(V3)
    before = moved.workflow_json
    with pytest.raises(MigrationRefused) as refused:
        process_migration.migrate(session, actor=agent("admin"), ticket=_ticket(session, moved), version=3)
    assert refused.value.message == (
        "version 3 of repair has no step for Diagnose (diagnose); the instance stays on version 1"
    )
    session.refresh(moved)
    assert (moved.process_version.version, moved.workflow_json) == (1, before)
    assert one_task(session, moved).name == "Diagnose"


def test_only_admins_migrate_and_only_to_a_newer_existing_version(session, agent, two_tickets):
    moved, _stays = two_tickets
    ticket = _ticket(session, moved)
    with pytest.raises(PermissionDenied):
        process_migration.migrate(session, actor=agent("alice"), ticket=ticket, version=2)
    for version in (1, 9):
        with pytest.raises(ValidationError) as wrong:
            process_migration.migrate(session, actor=agent("admin"), ticket=ticket, version=version)
        assert "version" in wrong.value.errors
    assert moved.process_version.version == 1
