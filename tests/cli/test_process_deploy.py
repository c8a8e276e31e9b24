"""``ticketflow process deploy``: shipped processes never revert a designer's version."""

from __future__ import annotations

import subprocess

from sqlalchemy import select

from core.db import session_scope
from engine import definitions
from engine.models import ProcessVersion
from tests.subprocesses import TICKETFLOW, ticketflow_env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TICKETFLOW, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_shipped_processes_are_deployed_once_and_a_designers_version_stays_newest(
    database_url_for_cli, factory, tmp_path
):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")
    assert run(env, "db", "upgrade").returncode == 0
    first = run(env, "process", "deploy")
    assert first.returncode == 0, first.stderr
    assert "ticket_handling version 1" in first.stdout.splitlines()

    # A designer changes the shipped diagram and deploys it as version 2.
    shipped = (definitions.DEFAULT_BPMN_DIR / "ticket_handling.bpmn").read_text()
    changed = tmp_path / "ticket_handling.bpmn"
    edit = "<!-- designer's change --></bpmn:definitions>"
    changed.write_text(shipped.replace("</bpmn:definitions>", edit))
    forms = tmp_path / "forms"
    forms.mkdir()
    for form in (definitions.DEFAULT_BPMN_DIR / "forms").glob("*.json"):
        (forms / form.name).write_text(form.read_text())
    designed = run(env, "process", "deploy", str(changed))
    assert designed.returncode == 0, designed.stderr
    assert designed.stdout.strip() == "ticket_handling version 2"

    # Deploying the same file again stores nothing and says so.
    again = run(env, "process", "deploy", str(changed))
    assert again.stdout.strip() == "ticket_handling version 2 (unchanged)"

    # The shipped processes (process deploy without files, seed demo) leave version 2 newest.
    assert "ticket_handling version 2 (unchanged)" in run(env, "process", "deploy").stdout.splitlines()
    assert run(env, "seed", "demo").returncode == 0
    with session_scope(factory) as session:  # type: ignore[arg-type]
        versions = session.scalars(
            select(ProcessVersion.version).where(ProcessVersion.process_id == "ticket_handling")
        ).all()
        assert sorted(versions) == [1, 2]
        newest = definitions.latest_version(session, "ticket_handling")
        assert newest is not None
        assert "designer's change" in newest.bpmn_xml

    # Asked explicitly, the shipped file becomes the newest version again.
    forced = run(env, "process", "deploy", "--update-shipped")
    assert "ticket_handling version 3" in forced.stdout.splitlines()


def test_a_file_that_is_not_utf8_is_a_clear_error(database_url_for_cli, tmp_path):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")
    assert run(env, "db", "upgrade").returncode == 0
    utf16 = tmp_path / "wide.bpmn"
    utf16.write_bytes((definitions.DEFAULT_BPMN_DIR / "consultation.bpmn").read_text().encode("utf-16"))
    done = run(env, "process", "deploy", str(utf16))
    assert done.returncode == 1
    assert "not a UTF-8 text file" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_decision_table_beside_the_diagram_is_deployed_with_it(database_url_for_cli, factory, tmp_path):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")
    assert run(env, "db", "upgrade").returncode == 0
    done = run(
        env, "process", "deploy", str(definitions.DEFAULT_BPMN_DIR / "examples" / "routing" / "routing.bpmn")
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "routing version 1"
    with session_scope(factory) as session:  # type: ignore[arg-type]
        version = definitions.latest_version(session, "routing")
        assert version is not None
        assert list(version.forms) == ["routing.dmn"]
        assert '<decision id="routing"' in version.forms["routing.dmn"]


def test_an_unused_broken_json_beside_the_diagram_is_ignored_and_a_used_one_named(
    database_url_for_cli, tmp_path
):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")
    assert run(env, "db", "upgrade").returncode == 0
    consultation = (definitions.DEFAULT_BPMN_DIR / "consultation.bpmn").read_text()
    diagram = tmp_path / "consultation.bpmn"
    diagram.write_text(consultation)
    forms = tmp_path / "forms"
    forms.mkdir()
    for form in (definitions.DEFAULT_BPMN_DIR / "forms").glob("*.json"):
        (forms / form.name).write_text(form.read_text())
    (tmp_path / "notes.json").write_text("{ this is not json")
    (tmp_path / "wide.json").write_bytes('{"a": 1}'.encode("utf-16"))
    done = run(env, "process", "deploy", str(diagram))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr

    # The same broken text in a form the diagram uses: refused, naming the file and why.
    used = sorted(p.name for p in forms.glob("*.json") if p.name in consultation)[0]
    (forms / used).write_text("{ this is not json")
    broken = run(env, "process", "deploy", str(diagram))
    assert broken.returncode == 1
    assert f"form '{used}' is not valid JSON" in broken.stderr
    assert "Traceback" not in broken.stderr
