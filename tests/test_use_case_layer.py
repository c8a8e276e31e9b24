"""One path per use case: the channels reach the write operations only through ``flows``.

Web views, API resources, the mail pipeline, the CLI and the process operators may read
through the services, but every change of a ticket, an article or a process goes through a
use case in ``flows/``.  Imports inside functions count.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = ("web", "mail", "processes", "ticketflow")

# The write operations below the use-case layer, by module.
WRITES: dict[str, frozenset[str]] = {
    "desk.ticket.service": frozenset(
        {
            "create_ticket",
            "move",
            "lock",
            "unlock",
            "set_owner",
            "set_responsible",
            "set_state",
            "reopen",
            "set_priority",
            "set_title",
            "set_customer",
            "set_type",
            "merge",
            "link",
        }
    ),
    "desk.article.service": frozenset({"add_article", "split"}),
    "desk.article.reply": frozenset({"send_reply", "forward_article"}),
    "engine.runtime": frozenset(
        {"start", "claim", "release", "complete_task", "deliver_message", "terminate"}
    ),
}


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name → module, for every ``import a.b as x`` and ``from a import b as x``."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in WRITES:
                    found[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                if dotted in WRITES:
                    found[alias.asname or alias.name] = dotted
    return found


def offences(path: Path) -> list[str]:
    """Each write operation ``path`` reaches around the use cases, as ``module.function``."""
    tree = ast.parse(path.read_text())
    aliases = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in WRITES and node.level == 0:
            found += [f"{node.module}.{a.name}" for a in node.names if a.name in WRITES[node.module]]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module is not None and node.attr in WRITES[module]:
                found.append(f"{module}.{node.attr}")
    return found


def test_the_checker_sees_direct_and_lazy_calls(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from desk.ticket import service as tickets\n"
        "def f(s):\n"
        "    from engine import runtime\n"
        "    from desk.article.service import add_article\n"
        "    tickets.get_ticket(s)\n"
        "    tickets.set_state(s)\n"
        "    runtime.claim(s)\n"
    )
    assert sorted(offences(sample)) == [
        "desk.article.service.add_article",
        "desk.ticket.service.set_state",
        "engine.runtime.claim",
    ]


def test_channels_change_tickets_and_processes_only_through_the_use_cases():
    found = {
        str(path.relative_to(ROOT)): offences(path)
        for package in CHANNELS
        if (ROOT / package).is_dir()
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {module: calls for module, calls in found.items() if calls} == {}


def test_the_use_cases_do_not_depend_on_the_channels():
    for path in (ROOT / "flows").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            for name in names:
                assert name.split(".")[0] not in CHANNELS, f"{path.relative_to(ROOT)} imports {name}"
