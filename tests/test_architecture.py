"""The dependency rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "desk", "engine", "processes", "mail", "web")


def imports_of(package: str, *, top_level_only: bool = False) -> dict[str, set[str]]:
    """Module path → the top-level names it imports."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text())
        nodes = tree.body if top_level_only else ast.walk(tree)
        names: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "engine"])
def test_only_the_engine_imports_spiffworkflow(package):
    offenders = [module for module, names in imports_of(package).items() if "SpiffWorkflow" in names]
    assert offenders == []


def test_the_domain_does_not_depend_on_the_outer_packages():
    offenders = {
        module: names & {"web", "mail", "engine", "processes"}
        for module, names in imports_of("desk").items()
        if names & {"web", "mail", "engine", "processes"}
    }
    assert offenders == {}


def test_core_imports_the_domain_only_lazily_inside_commands():
    offenders = {
        module: names & {"desk", "engine", "processes", "web", "mail"}
        for module, names in imports_of("core", top_level_only=True).items()
        if names & {"desk", "engine", "processes", "web", "mail"}
    }
    assert offenders == {}


def test_the_engine_reaches_processes_only_through_the_registry():
    offenders = [module for module, names in imports_of("engine").items() if "processes" in names]
    assert offenders == []
