"""Every BPMN file of SpiffWorkflow's own test suite: validated cleanly, run without surprises.

Each document either validates or is refused with a :class:`ProcessValidationError` — never
another exception.  Each process of a document that validates is run in memory with the
safe script engine (manual tasks completed with empty data, a bounded number of rounds) and
ends completed, waiting, or with a clear SpiffWorkflow or Ticketflow error.

The corpus lives beside the checkout in ``shared/corpus``; without it the test fails in CI
and is skipped elsewhere.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from core.errors import TicketflowError
from engine import runtime
from engine.errors import ProcessValidationError
from engine.parser import ParsedDocument, parse_document
from engine.scripting import TicketflowScriptEngine

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "bpmn" / "spiffworkflow-tests"
IN_CI = os.environ.get("CI", "").lower() == "true"
MIN_FILES = 100
ROUNDS = 50
SECONDS_PER_FILE = 30


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = {*CORPUS.rglob("*.bpmn"), *CORPUS.rglob("*.bpmn20.xml")}
    return sorted(found)


FILES = corpus_files()


def require_corpus() -> None:
    if FILES:
        return
    message = f"the BPMN corpus is missing: {CORPUS}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Fail instead of hanging when a process loops forever (main thread only)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what} did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_in_memory(parsed: ParsedDocument, process_id: str) -> str:
    """Run one process until it completes, waits, or fails clearly; return which."""
    workflow = BpmnWorkflow(
        parsed.parser.get_spec(process_id),
        parsed.parser.get_subprocess_specs(process_id),
        script_engine=TicketflowScriptEngine(),
    )
    # As the runtime advances a workflow: a bounded do_engine_steps, and errors of the library
    # that are not SpiffWorkflowExceptions translated into a ProcessError.
    try:
        runtime.run_step(lambda: runtime.engine_steps(workflow))
        for _ in range(ROUNDS):
            if workflow.is_completed():
                return "completed"
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                return "waiting"
            for task in ready:
                if task.state == TaskState.READY:  # an earlier one may have cancelled it
                    runtime.run_step(task.run)
            runtime.run_step(lambda: runtime.engine_steps(workflow))
    except (SpiffWorkflowException, TicketflowError) as exc:
        return f"failed clearly: {type(exc).__name__}"
    return "completed" if workflow.is_completed() else "still running after the rounds"


def test_the_corpus_is_there_and_large():
    require_corpus()
    assert len(FILES) > MIN_FILES, f"only {len(FILES)} BPMN files under {CORPUS}"


@pytest.mark.parametrize(
    "path", FILES or [None], ids=[str(p.relative_to(CORPUS)) for p in FILES] or ["corpus-missing"]
)
def test_a_corpus_document_validates_or_is_refused_clearly_and_runs_safely(path):
    require_corpus()
    assert path is not None
    with time_limit(SECONDS_PER_FILE, path.name):
        try:
            parsed: ParsedDocument | None = parse_document(path.read_bytes(), filename=path.name)
        except ProcessValidationError as exc:
            parsed, problems = None, exc.problems
        if parsed is None:
            assert problems, f"{path.name}: refused without a reason"
            assert all(isinstance(p, str) and p for p in problems)
            return
        assert isinstance(parsed, ParsedDocument)
        assert parsed.process_ids
        outcomes = {pid: run_in_memory(parsed, pid) for pid in parsed.process_ids}
    assert all(outcomes.values()), outcomes
