"""``ticket_handling`` full lifecycles on PostgreSQL, beside raw SpiffWorkflow on the same BPMN in memory.

One lifecycle, as the channels run it, one transaction per step (each would be a request or a
job): open a ticket (its first article, the process starts and waits at Triage), complete
Triage (*work*), complete Work (*resolve*: pending auto close), then the pending-time sweep
delivers ``pending_time_reached`` and the process closes the ticket and ends.  The raw figure
runs the same path on the same BPMN files with SpiffWorkflow alone (our restricted script
engine, operators that do nothing, no database), in the same run on the same machine.

It also measures the stored workflow per live instance: the JSON at Triage, at Work, and
after each consultation loop (Work → Consult → back to Work), and the process's memory.

``python -m bench.lifecycle [--lifecycles N] [--loops K]`` writes var/bench/lifecycle.json.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import DB_PREFIX, ROOT, SERVER, write_report
from bench.mail import copy_of_template, seeded_template


def _open_task(session: Session, instance_id: int) -> Any:
    from engine.models import HumanTask

    return session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
    ).first()


def _candidate(session: Session, task: Any) -> Any:
    from desk.agent.models import Agent
    from engine import runtime

    for agent in session.scalars(select(Agent).order_by(Agent.id)):
        if runtime.is_candidate(session, agent, task):
            return agent
    raise RuntimeError(f"nobody may do task {task.name}")


def _complete(factory: sessionmaker[Session], instance_id: int, data: dict[str, Any]) -> str:
    from core.db import session_scope
    from flows import tasks

    with session_scope(factory) as session:
        task = _open_task(session, instance_id)
        name = str(task.name)
        tasks.complete(session, actor=_candidate(session, task), task_id=task.id, data=data)
    return name


def _workflow_bytes(factory: sessionmaker[Session], instance_id: int) -> int:
    from core.db import session_scope
    from engine.models import ProcessInstance

    with session_scope(factory) as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        return len(instance.workflow_json.encode())


def _definition_bytes(factory: sessionmaker[Session], instance_id: int) -> int:
    """The instance's definition row (stored once per content hash, shared by its instances)."""
    from core.db import session_scope
    from engine.models import ProcessInstance, ProcessSpec

    with session_scope(factory) as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        spec = session.get(ProcessSpec, instance.spec_hash) if instance.spec_hash else None
        return len(spec.spec_json.encode()) if spec is not None else 0


def _start(factory: sessionmaker[Session], n: int, queue: str = "Raw") -> tuple[int, int]:
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.queue.models import Queue
    from flows import open_ticket
    from flows.drafts import ArticleDraft

    with session_scope(factory) as session:
        where = session.scalars(select(Queue).where(Queue.name == queue)).one()
        draft = ArticleDraft(channel="phone", subject=f"Lifecycle {n}", body_text=f"Lifecycle number {n}.")
        opened = open_ticket.open_ticket(
            session, actor=SYSTEM, queue=where, title=f"Lifecycle {n}", first=draft
        )
        assert opened.instance is not None
        return opened.ticket.id, opened.instance.id


def _lifecycle_db(factory: sessionmaker[Session], n: int) -> str:
    from core.db import session_scope
    from engine.models import ProcessInstance
    from flows import process_events

    ticket_id, instance_id = _start(factory, n)
    _complete(factory, instance_id, {"decision": "work"})
    _complete(factory, instance_id, {"action": "resolve"})
    with session_scope(factory) as session:
        process_events.pending_time_reached(
            session, ticket_id=ticket_id, now=datetime.now(UTC) + timedelta(days=60)
        )
    with session_scope(factory) as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        return str(instance.status)


def _raw_specs() -> tuple[Any, Any]:
    from SpiffWorkflow.spiff.parser import SpiffBpmnParser

    from engine.parser import load_xml

    parser = SpiffBpmnParser()
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        parser.add_bpmn_xml(load_xml(path.read_bytes()), str(path))
    return parser.get_spec("ticket_handling"), parser.get_subprocess_specs("ticket_handling")


def _lifecycle_raw(spec: Any, subprocess_specs: Any, n: int) -> bool:
    from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
    from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
    from SpiffWorkflow.util.task import TaskState

    from engine.scripting import TicketflowScriptEngine

    def operator(task: Any, name: str, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=TicketflowScriptEngine(runner=operator))
    workflow.get_tasks(state=TaskState.READY)[0].set_data(
        ticket_id=n, ticket_number=str(n), started_by_agent_id=None
    )
    workflow.do_engine_steps()
    for data in ({"decision": "work"}, {"action": "resolve"}):
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.set_data(**data)
        task.run()
        workflow.do_engine_steps()
    for task in list(workflow.get_tasks(state=TaskState.WAITING)):
        definition = getattr(task.task_spec, "event_definition", None)
        # An event-based gateway waits on several definitions at once.
        for candidate in [definition, *getattr(definition, "event_definitions", [])]:
            if isinstance(candidate, MessageEventDefinition) and candidate.name == "pending_time_reached":
                payload = {"state": "pending auto close+", "state_type": "pending_auto"}
                workflow.send_event(BpmnEvent(candidate, payload))
                workflow.do_engine_steps()
                return bool(workflow.is_completed())
    return bool(workflow.is_completed())


def _loop_sizes(factory: sessionmaker[Session], loops: int) -> dict[str, int]:
    # In 2nd level, where consultants may read the ticket.
    _, instance_id = _start(factory, 10**6, "2nd level")
    sizes = {"at_triage": _workflow_bytes(factory, instance_id)}
    _complete(factory, instance_id, {"decision": "work"})
    sizes["at_work"] = _workflow_bytes(factory, instance_id)
    for k in range(1, loops + 1):
        _complete(factory, instance_id, {"action": "consult", "consultation_question": f"Loop {k}?"})
        _complete(factory, instance_id, {"outcome": "return", "note": f"Answer {k}."})
        sizes[f"after_{k}_loops"] = _workflow_bytes(factory, instance_id)
    sizes["definition_once_per_version"] = _definition_bytes(factory, instance_id)
    return sizes


def _count_statements(engine: Engine, work: Callable[[], object]) -> int:
    """How many SQL statements ``work`` sends (the round trips behind the time)."""
    count = 0

    def listener(*_: object) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", listener)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return count


def main() -> None:
    """Measure and write the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--raw", type=int, default=2000, help="raw SpiffWorkflow lifecycles")
    parser.add_argument("--loops", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="pyinstrument over the PostgreSQL lifecycles")
    args = parser.parse_args()
    load_before = os.getloadavg()

    from core import jobs
    from core.db import make_engine, make_sessionmaker

    seeded_template()

    class Discard:
        def send(self, name: str, kwargs: dict[str, Any]) -> None:
            """Acknowledgement mails are not part of the process's cost."""

    url = copy_of_template(f"{DB_PREFIX}lifecycle")
    jobs.set_backend(Discard())
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    _lifecycle_db(factory, -1)  # warm the spec cache and the connection pool
    statements = _count_statements(engine, lambda: _lifecycle_db(factory, -2))

    statuses: dict[str, int] = {}
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002)
        profiler.start()
    start = time.perf_counter()
    for n in range(args.lifecycles):
        status = _lifecycle_db(factory, n)
        statuses[status] = statuses.get(status, 0) + 1
    db_seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.stop()
        out = Path("var/bench/lifecycle-profile.txt")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(profiler.output_text(unicode=True, color=False, show_all=False))

    spec, subprocess_specs = _raw_specs()
    _lifecycle_raw(spec, subprocess_specs, -1)
    start = time.perf_counter()
    completed = sum(_lifecycle_raw(spec, subprocess_specs, n) for n in range(args.raw))
    raw_seconds = time.perf_counter() - start

    sizes = _loop_sizes(factory, args.loops)
    engine.dispose()
    db_rate = args.lifecycles / db_seconds
    raw_rate = args.raw / raw_seconds
    figures = {
        "postgresql": {
            "lifecycles": args.lifecycles,
            "final_status": statuses,
            "seconds": round(db_seconds, 2),
            "per_second": round(db_rate, 1),
            "ms_per_lifecycle": round(1000 / db_rate, 2),
        },
        "raw_spiffworkflow_in_memory": {
            "lifecycles": args.raw,
            "completed": completed,
            "per_second": round(raw_rate, 1),
            "ms_per_lifecycle": round(1000 / raw_rate, 3),
        },
        "slowdown_vs_raw": round(raw_rate / db_rate, 1),
        "sql_statements_per_lifecycle": statements,
        "workflow_json_bytes": sizes,
        "bench_process_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    write_report(
        "lifecycle",
        dataset={"database": "demo data + default processes", "lifecycles": args.lifecycles},
        figures=figures,
        database_url=f"{SERVER}/{DB_PREFIX}lifecycle",
        load_before=load_before,
        header=["measure", "value"],
        rows=[
            ["lifecycles/s on PostgreSQL (one process)", round(db_rate, 1)],
            ["raw SpiffWorkflow lifecycles/s (in memory)", round(raw_rate, 1)],
            ["slowdown", f"{figures['slowdown_vs_raw']}×"],
            ["SQL statements per lifecycle (4 transactions)", statements],
            *[[f"workflow JSON {k}", f"{v / 1024:.1f} KB"] for k, v in sizes.items()],
        ],
    )


if __name__ == "__main__":
    main()
