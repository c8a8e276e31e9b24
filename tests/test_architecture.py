"""The dependency rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "desk", "engine", "processes", "mail", "reports", "web")
# Every package below the composition root (flows/ once it exists, migrations/ too).
BELOW_THE_ROOT = (*PACKAGES, "flows", "migrations")
DOMAIN = {"desk", "engine", "processes", "flows", "mail", "reports", "web", "ticketflow"}


def imports_of(package: str, *, top_level_only: bool = False) -> dict[str, set[str]]:
    """Module path → the top-level names it imports."""
    found: dict[str, set[str]] = {}
    if not (ROOT / package).is_dir():
        return found
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
    outer = {"web", "mail", "engine", "processes", "flows", "ticketflow"}
    offenders = {module: names & outer for module, names in imports_of("desk").items() if names & outer}
    assert offenders == {}


def test_core_imports_no_domain_package_not_even_lazily():
    offenders = {module: names & DOMAIN for module, names in imports_of("core").items() if names & DOMAIN}
    assert offenders == {}


def dynamic_imports_of(package: str) -> dict[str, list[str]]:
    """Module path → the arguments of its importlib.import_module / __import__ calls."""
    found: dict[str, list[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        calls = [
            ast.unparse(node.args[0]) if node.args else ""
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call)
            and ast.unparse(node.func) in {"importlib.import_module", "import_module", "__import__"}
        ]
        if calls:
            found[str(path.relative_to(ROOT))] = calls
    return found


@pytest.mark.parametrize("package", ["core", "desk", "engine"])
def test_the_lower_packages_import_nothing_by_name(package):
    # A module imported by a string is a dependency the import rules above cannot see
    # (core once found the domain's job modules, engine the process operators, that way).
    assert dynamic_imports_of(package) == {}


@pytest.mark.parametrize("package", BELOW_THE_ROOT)
def test_nothing_below_the_composition_root_imports_it(package):
    offenders = [module for module, names in imports_of(package).items() if "ticketflow" in names]
    assert offenders == []


def test_the_engine_reaches_processes_only_through_the_registry():
    offenders = [module for module, names in imports_of("engine").items() if "processes" in names]
    assert offenders == []


def test_statistics_only_read_the_domain_and_only_the_web_reads_them():
    # reports/ reads desk and engine tables; it writes nothing and no lower layer needs it.
    allowed = {"core", "desk", "engine"}
    offenders = {
        module: names & (DOMAIN - allowed)
        for module, names in imports_of("reports").items()
        if names & (DOMAIN - allowed - {"reports"})
    }
    assert offenders == {}
    for package in ("core", "desk", "engine", "processes", "flows", "mail"):
        users = [module for module, names in imports_of(package).items() if "reports" in names]
        assert users == [], package
