"""The process designer in Chromium: S13 (change ticket_handling, deploy, new tickets follow),
every corpus diagram opens and round-trips its spiffworkflow: elements, lint shows errors, a
decision table edited in the designer routes new tickets."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import definitions, inbox, runtime
from engine.models import HumanTask
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def new_ticket(factory, title: str, queue: str = "Raw") -> int:
    """A ticket in ``queue`` with ticket_handling started on its newest version."""
    with session_scope(factory) as session:
        where = session.scalars(select(Queue).where(Queue.name == queue)).one()
        ticket = tickets.create_ticket(session, actor=SYSTEM, title=title, queue=where)
        runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="ticket_handling")
        return ticket.id


def open_tasks(factory, ticket_id: int) -> list[str]:
    with session_scope(factory) as session:
        return list(
            session.scalars(
                select(HumanTask.bpmn_id).where(HumanTask.ticket_id == ticket_id, HumanTask.state == "open")
            )
        )


def open_designer(page, base: str, process_id: str = "ticket_handling") -> None:
    page.goto(f"{base}/designer")
    page.get_by_role("link", name=re.compile("Ticket handling")).first.click()
    page.wait_for_selector("[data-designer][data-ready='true']")


LINT = """async () => (await window.ticketflowDesigner.lint())
  .filter((issue) => issue.category === 'error')
  .map((issue) => issue.id + ': ' + issue.message)"""


def test_a_non_designer_gets_403_on_the_page_and_on_deploy(page, live_server, e2e_factory):
    sign_in(page, live_server, "alice")
    response = page.goto(f"{live_server}/designer")
    assert response is not None
    assert response.status == 403
    assert page.locator("a[href='/designer']").count() == 0
    page.goto(f"{live_server}/")
    status = page.evaluate(
        """async () => {
          const token = document.querySelector('meta[name="csrf-token"]').content;
          const r = await fetch('/designer/processes/ticket_handling/deploy', {
            method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
            body: JSON.stringify({bpmn_xml: '<x/>', note: 'n'})});
          return r.status;
        }"""
    )
    assert status == 403
    with session_scope(e2e_factory) as session:
        assert all(v.deployed_by_id is None or v.note != "n" for v in definitions.list_versions(session))


def corpus_files() -> list[Path]:
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".bpmn", ".xml") and p.is_file())
    return [p for p in files if BPMN_NS in p.read_text(errors="replace")]


def test_every_corpus_diagram_opens_and_keeps_its_spiffworkflow_elements(page, live_server):
    files = corpus_files()
    if not files:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the shared BPMN corpus is missing (CI needs it)")
        pytest.skip("the shared BPMN corpus is not here")
    sign_in(page, live_server, "admin")
    open_designer(page, live_server)
    failures: dict[str, str] = {}
    for path in files:
        text = path.read_text(errors="replace")
        result = page.evaluate(
            """async (text) => {
              const d = window.ticketflowDesigner;
              try { await d.open(text); } catch (e) { return {error: String(e.message || e)}; }
              return {xml: await d.xml()};
            }""",
            text,
        )
        name = str(path.relative_to(CORPUS))
        if "error" in result:
            failures[name] = result["error"]
            continue
        before = sorted(re.findall(r"<spiffworkflow:(\w+)", text))
        after = sorted(re.findall(r"<spiffworkflow:(\w+)", result["xml"]))
        if before != after:
            failures[name] = f"spiffworkflow elements {before} became {after}"
    assert failures == {}


def test_lint_and_validation_show_the_problems_of_a_broken_diagram(page, live_server):
    sign_in(page, live_server, "admin")
    open_designer(page, live_server)
    page.evaluate(
        """() => {
          const m = window.ticketflowDesigner.modeler;
          const registry = m.get('elementRegistry');
          const modeling = m.get('modeling');
          const close = registry.get('close_at_triage');
          const op = close.businessObject.extensionElements.values.find(
            v => v.$type === 'spiffworkflow:ServiceTaskOperator');
          modeling.updateModdleProperties(close, op, { id: 'no_such_operator' });
          const triage = registry.get('triage');
          modeling.createShape(
            { type: 'bpmn:ServiceTask' }, { x: triage.x + 400, y: triage.y + 300 }, triage.parent);
        }"""
    )
    errors = page.evaluate(LINT)
    assert any(e.startswith("close_at_triage: Unknown operator no_such_operator") for e in errors)
    assert any("A service task needs an operator" in e for e in errors)
    page.get_by_role("button", name="Validate").click()
    item = page.locator("[data-designer-problems] li", has_text="no_such_operator").first
    item.wait_for()
    assert "close_at_triage" in (item.get_attribute("data-elements") or "").split()
    assert page.locator(".djs-element.designer-problem[data-element-id='close_at_triage']").count() == 1


def test_the_form_editor_previews_a_task_form_as_the_ticket_page_renders_it(page, live_server):
    sign_in(page, live_server, "admin")
    open_designer(page, live_server)
    page.evaluate(
        """() => {
          const m = window.ticketflowDesigner.modeler;
          m.get('selection').select(m.get('elementRegistry').get('triage'));
        }"""
    )
    editor = page.locator("[data-form-editor]")
    editor.wait_for()
    assert "triage.schema.json" in editor.locator("[data-form-name]").inner_text()
    page.locator("[data-form-preview] [data-field]").first.wait_for()
    schema = (
        '{"type": "object", "required": ["approved"], "properties": '
        '{"approved": {"type": "boolean", "title": "Approve the request"}}}'
    )
    page.get_by_label("JSON Schema", exact=True).fill(schema)
    page.locator("[data-form-preview] [data-field='approved']").wait_for()
    assert "Approve the request" in page.locator("[data-form-preview]").inner_text()
    forms = page.evaluate("window.ticketflowDesigner.state.forms")
    assert forms["triage.schema.json"]["properties"]["approved"]["title"] == "Approve the request"
    page.get_by_label("JSON Schema", exact=True).fill("{not json")
    page.wait_for_function("() => document.querySelector('[data-form-error]').textContent !== ''")


# The approval in a lane of its own: a lane named like a role gives the task to that role's
# members (processes/lanes.py), as the shipped authorization.bpmn does with "Authorizer".
# The modeler's API draws the lane, the task and the timer; the lane's name (its rule), the
# form and the timer's value are then set through the properties panel.
ADD_APPROVAL_LANE = """() => {
  const m = window.ticketflowDesigner.modeler;
  const registry = m.get('elementRegistry');
  const modeling = m.get('modeling');
  const lane = modeling.addLane(registry.get('ticket_handling_lane'), 'bottom');
  const triage = registry.get('triage');
  const flow = registry.get('f_defaults');
  const shape = modeling.createShape(
    { type: 'bpmn:UserTask' },
    { x: triage.x + 50, y: lane.y + lane.height / 2 },
    registry.get('ticket_handling_pool'),
  );
  modeling.updateLabel(shape, 'Approve');
  modeling.reconnectEnd(flow, shape, { x: shape.x, y: shape.y + shape.height / 2 });
  const out = modeling.connect(shape, triage, { type: 'bpmn:SequenceFlow' });
  const timer = modeling.createShape(
    { type: 'bpmn:BoundaryEvent', eventDefinitionType: 'bpmn:TimerEventDefinition' },
    { x: shape.x + shape.width / 2, y: shape.y + shape.height },
    shape, { attach: true },
  );
  const late = modeling.connect(timer, triage, { type: 'bpmn:SequenceFlow' });
  return { lane: lane.id, task: shape.id, flow: out.id, timer: timer.id, late: late.id };
}"""


def select_element(page, element_id: str) -> None:
    page.evaluate(
        """(id) => {
          const m = window.ticketflowDesigner.modeler;
          m.get('selection').select(m.get('elementRegistry').get(id));
        }""",
        element_id,
    )


def panel_group(page, group_id: str):
    """A group of the properties panel, opened (groups start collapsed)."""
    group = page.locator(f".bio-properties-panel [data-group-id='{group_id}']")
    group.wait_for()
    if group.locator(".bio-properties-panel-group-entries.open").count() == 0:
        group.locator(".bio-properties-panel-group-header").click()
    return group


def test_s13_the_approval_in_an_authorizer_lane_with_a_form_and_a_two_hour_timer(
    page, live_server, e2e_factory
):
    before = new_ticket(e2e_factory, "Started before the approval lane", "1st level")
    assert open_tasks(e2e_factory, before) == ["triage"]
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, live_server, "admin")
    open_designer(page, live_server)
    ids = page.evaluate(ADD_APPROVAL_LANE)
    task_id = ids["task"]

    select_element(page, ids["lane"])
    name = panel_group(page, "group-general").get_by_label("Name", exact=True)
    name.fill("Authorizer")
    name.press("Tab")
    select_element(page, ids["task"])
    form = page.get_by_label("Form (JSON Schema file)")
    form.fill("triage.schema.json")
    form.press("Tab")
    select_element(page, ids["timer"])
    group = panel_group(page, "group-timer")
    group.get_by_label("Type").select_option("timeDuration")
    value = group.get_by_label("Value")
    value.fill("PT2H")
    value.press("Tab")

    xml = page.evaluate("window.ticketflowDesigner.xml()")
    lane = rf'<bpmn:lane id="{ids["lane"]}" name="Authorizer">\s*<bpmn:flowNodeRef>{task_id}<'
    assert re.search(lane, xml)
    assert re.search(r"<bpmn:timeDuration[^>]*>PT2H</bpmn:timeDuration>", xml)
    assert f'attachedToRef="{ids["task"]}"' in xml
    assert page.evaluate(LINT) == []
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft saved.").wait_for()
    page.get_by_role("button", name="Validate").click()
    page.get_by_text("The server found no problem.").wait_for()
    page.get_by_role("button", name="Deploy").click()
    page.get_by_text("A change note is required.").wait_for()
    page.get_by_label("Change note").fill("Approval by an authorizer")
    page.get_by_role("button", name="Deploy").click()
    page.get_by_text("Deployed as a new version.").wait_for()
    screenshot(page, "designer-s13-lane")

    after = new_ticket(e2e_factory, "Started after the approval lane", "1st level")
    assert open_tasks(e2e_factory, after) == [ids["task"]]
    assert open_tasks(e2e_factory, before) == ["triage"]
    # The authorizer reads 1st level (demo data), so the approval is in their inbox.
    with session_scope(e2e_factory) as session:
        authorizer = session.scalars(select(Agent).where(Agent.login == "authorizer")).one()
        shown = {(t.ticket_id, t.bpmn_id) for t in inbox.tasks_for(session, agent=authorizer, limit=500)}
        assert (after, ids["task"]) in shown
        assert not any(ticket == before for ticket, _ in shown)

    page.goto(f"{live_server}/designer/processes/ticket_handling/versions")
    assert "Approval by an authorizer" in page.locator("[data-designer-versions]").inner_text()
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector("[data-designer-diff][data-ready='true']")
    added = page.locator("[data-diff-added] li").evaluate_all("items => items.map(i => i.dataset.element)")
    assert sorted(added) == sorted(ids.values())
    assert page.locator("[data-diff-removed] li[data-element]").count() == 0
    assert page.locator(f".djs-element.diff-added[data-element-id='{task_id}']").count() == 1
    screenshot(page, "designer-diff")
    assert problems == []


ROUTING = definitions.DEFAULT_BPMN_DIR / "examples" / "routing"


def test_a_decision_table_edited_in_the_designer_routes_new_tickets(page, live_server, e2e_factory):
    with session_scope(e2e_factory) as session:
        definitions.deploy(
            session,
            actor=SYSTEM,
            # Written without diagram layout: the designer lays it out (bpmn-auto-layout).
            bpmn_xml=(ROUTING / "routing.bpmn").read_text(),
            forms={"routing.dmn": (ROUTING / "routing.dmn").read_text()},
        )
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/designer/processes/routing")
    page.wait_for_selector("[data-designer][data-ready='true']")
    select_element(page, "routing_decide")
    editor = page.locator("[data-dmn-editor][data-ready='true']")
    editor.wait_for()
    assert "routing.dmn" in editor.locator("[data-dmn-name]").inner_text()
    # Billing questions go to the second level instead of Finance: one output cell edited.
    cell = editor.locator("td", has_text='"Finance"').locator("[contenteditable]").first
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"2nd level"')
    editor.locator("[data-dmn-name]").click()
    page.wait_for_function(
        """() => {
          const xml = window.ticketflowDesigner.state.forms['routing.dmn'];
          return typeof xml === 'string' && !xml.includes('"Finance"');
        }"""
    )
    screenshot(page, "designer-dmn")
    page.get_by_label("Change note").fill("Billing to the second level")
    page.get_by_role("button", name="Deploy").click()
    page.get_by_text("Deployed as a new version.").wait_for()
    with session_scope(e2e_factory) as session:
        newest = definitions.latest_version(session, "routing")
        assert newest is not None
        assert newest.note == "Billing to the second level"
        raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
        ticket = tickets.create_ticket(session, actor=SYSTEM, title="Question about my invoice", queue=raw)
        runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="routing")
        session.flush()
        assert (ticket.priority, ticket.queue.name) == (3, "2nd level")
    assert problems == []
