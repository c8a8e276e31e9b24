"""Every BPMN file of ``shared/corpus/bpmn`` (written by others) validates to a document or to
readable problems: never a traceback, never an object's repr in a message (issue 13).

Each diagram is validated with the files beside it (forms, DMN decision tables in the same
folder, ``dmn/`` and ``forms/``), as ``ticketflow process deploy`` reads them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import definitions
from engine.errors import ProcessValidationError
from engine.parser import parse_document
from tests.conftest import IN_CI

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "bpmn"
FILES = sorted(CORPUS.rglob("*.bpmn")) if CORPUS.is_dir() else []
REPR = re.compile(r"<[A-Za-z_.]+ (object )?at 0x[0-9a-f]+>|<Element ")
# Refused before the engine read standard BPMN (62 of 116 validated): DMN business rule
# tasks, data stores, process and task data inputs/outputs, literal-only and tuple scripts.
NOW_DEPLOYABLE = [
    "spiffworkflow-tests/bpmn/data/data_store.bpmn",
    "spiffworkflow-tests/bpmn/data/data_store_read.bpmn",
    "spiffworkflow-tests/bpmn/data/data_store_write.bpmn",
    "spiffworkflow-tests/bpmn/data/io_spec.bpmn",
    "spiffworkflow-tests/bpmn/data/io_spec_on_task.bpmn",
    "spiffworkflow-tests/bpmn/data/script-start.bpmn",
    "spiffworkflow-tests/spiff/data/business_rule_task.bpmn",
]
DEPLOYABLE_BEFORE = 62


def files_beside(path: Path) -> dict[str, object]:
    """The forms and decision tables a deploy of ``path`` would read."""
    files: dict[str, object] = {}
    for folder in (path.parent, path.parent / "dmn", path.parent / "forms"):
        files.update(definitions.read_forms(folder))
    return files


def _validates(path: Path) -> bool:
    try:
        parse_document(path.read_bytes(), forms=files_beside(path), known_processes=set(), filename=path.name)
    except ProcessValidationError:
        return False
    return True


def _without_corpus() -> None:
    """In CI the corpus must be there (fail); elsewhere a missing corpus skips."""
    if IN_CI:
        pytest.fail(f"the BPMN corpus is missing at {CORPUS}")
    pytest.skip("the BPMN corpus is not beside the project")


def test_the_corpus_is_there():
    if not FILES:
        _without_corpus()
    assert len(FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_a_corpus_diagram_validates_or_says_why(path):
    data = path.read_bytes()
    problems: list[str] = []
    try:
        document = parse_document(data, forms=files_beside(path), known_processes=set(), filename=path.name)
    except ProcessValidationError as exc:
        problems = list(exc.problems)
        refused = True
    else:
        refused = False
        assert document.process_ids
    if refused:
        assert problems, "a refusal names its problems"
    for problem in problems:
        assert problem.strip()
        assert not REPR.search(problem), problem


def test_more_corpus_diagrams_deploy_than_before():
    if not FILES:
        _without_corpus()
    deployable = [p for p in FILES if _validates(p)]
    assert len(deployable) >= DEPLOYABLE_BEFORE + len(NOW_DEPLOYABLE)


@pytest.mark.parametrize("name", NOW_DEPLOYABLE)
def test_a_diagram_with_standard_bpmn_we_refused_before_now_deploys(name, deploy):
    path = CORPUS / name
    if not path.is_file():
        _without_corpus()
    versions = deploy(path.read_text(encoding="utf-8"), files_beside(path))
    assert versions
    assert all(v.version == 1 for v in versions)


def test_the_non_executable_corpus_process_is_refused_with_that_reason():
    path = CORPUS / "spiffworkflow-tests/bpmn/data/Invalid-Workflows/non-executable-process.bpmn"
    if not path.is_file():
        _without_corpus()
    with pytest.raises(ProcessValidationError) as refused:
        parse_document(path.read_bytes(), forms={}, filename=path.name)
    assert refused.value.problems == ['process Process_14di7kj is not executable (isExecutable="false")']
