"""``ticketflow process migrate --ticket N --to-version V``, run as a subprocess."""

from __future__ import annotations

import subprocess

from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.history.models import History
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import runtime
from engine.models import ProcessInstance
from tests.engine.migration_diagrams import V1, V2, V3
from tests.subprocesses import TICKETFLOW, ticketflow_env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TICKETFLOW, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_the_cli_moves_a_waiting_instance_or_says_which_step_is_missing(
    database_url_for_cli, factory, tmp_path
):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")
    assert run(env, "db", "upgrade").returncode == 0
    assert run(env, "seed", "demo").returncode == 0
    for n, text in enumerate((V1, V2, V3), start=1):
        (tmp_path / f"repair_v{n}.bpmn").write_text(text)
    assert run(env, "process", "deploy", str(tmp_path / "repair_v1.bpmn")).returncode == 0
    with session_scope(factory) as session:  # type: ignore[arg-type]
        raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
        ticket = tickets.create_ticket(session, actor=SYSTEM, title="Broken chair", queue=raw)
        instance_id = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="repair").id
        number = ticket.number
    for n in (2, 3):
        deployed = run(env, "process", "deploy", str(tmp_path / f"repair_v{n}.bpmn"))
        assert deployed.stdout.strip() == f"repair version {n}", deployed.stderr

    refused = run(env, "process", "migrate", "--ticket", number, "--to-version", "3")
    assert refused.returncode == 1
    assert "version 3 of repair has no step for Diagnose (diagnose)" in refused.stderr
    assert "Traceback" not in refused.stderr

    moved = run(env, "process", "migrate", "--ticket", number, "--to-version", "2")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == f"process instance {instance_id}: repair version 2 (running)"
    with session_scope(factory) as session:  # type: ignore[arg-type]
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        assert instance.process_version.version == 2
        kinds = session.scalars(
            select(History.type).where(
                History.ticket_id == instance.ticket_id, History.type == "ProcessMigrate"
            )
        ).all()
        assert kinds == ["ProcessMigrate"]
