"""Every BPMN file of ``shared/corpus/bpmn`` (written by others) validates to a document or to
readable problems: never a traceback, never an object's repr in a message (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.errors import ProcessValidationError
from engine.parser import parse_document
from tests.conftest import IN_CI

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "bpmn"
FILES = sorted(CORPUS.rglob("*.bpmn")) if CORPUS.is_dir() else []
REPR = re.compile(r"<[A-Za-z_.]+ (object )?at 0x[0-9a-f]+>|<Element ")


def test_the_corpus_is_there():
    if not FILES:
        if IN_CI:
            pytest.fail(f"the BPMN corpus is missing at {CORPUS}")
        pytest.skip("the BPMN corpus is not beside the project")
    assert len(FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_a_corpus_diagram_validates_or_says_why(path):
    data = path.read_bytes()
    problems: list[str] = []
    try:
        document = parse_document(data, forms={}, known_processes=set(), filename=path.name)
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
