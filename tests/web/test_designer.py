"""The process designer's endpoints: who may use them, drafts, validation, deploys, diffs."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent, Group
from desk.ticket import service as tickets
from engine import definitions, runtime
from engine.models import ProcessDraft, ProcessVersion
from flows import process_design
from tests.web.conftest import csrf_token_in

SHIPPED = (definitions.DEFAULT_BPMN_DIR / "ticket_handling.bpmn").read_text()


def with_approval(xml: str) -> str:
    """ticket_handling with an approval user task between the defaults and triage."""
    xml = xml.replace(
        '<bpmn:sequenceFlow id="f_defaults" sourceRef="set_defaults" targetRef="triage"/>',
        '<bpmn:sequenceFlow id="f_defaults" sourceRef="set_defaults" targetRef="approval"/>\n'
        '    <bpmn:sequenceFlow id="f_approval" sourceRef="approval" targetRef="triage"/>',
    )
    xml = xml.replace(
        "<bpmn:incoming>f_defaults</bpmn:incoming>", "<bpmn:incoming>f_approval</bpmn:incoming>", 1
    )
    task = (
        '<bpmn:userTask id="approval" name="Approve">\n'
        "      <bpmn:extensionElements><spiffworkflow:properties>"
        '<spiffworkflow:property name="formJsonSchemaFilename" value="triage.schema.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements>\n"
        "      <bpmn:incoming>f_defaults</bpmn:incoming>\n"
        "      <bpmn:outgoing>f_approval</bpmn:outgoing>\n"
        "    </bpmn:userTask>\n"
        '    <bpmn:userTask id="triage" name="Triage">'
    )
    xml = xml.replace('<bpmn:userTask id="triage" name="Triage">', task, 1)
    return xml.replace(
        "<bpmn:flowNodeRef>triage</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>approval</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>triage</bpmn:flowNodeRef>",
        1,
    )


@pytest.fixture
def deployed(session):
    return definitions.deploy_directory(session, actor=SYSTEM)


@pytest.fixture
def designer(session):
    """bob, with rw on the designer group."""
    group = session.scalar(select(Group).where(Group.name == definitions.DESIGNER_GROUP))
    if group is None:
        group = agents.create_group(session, actor=SYSTEM, name=definitions.DESIGNER_GROUP)
    bob = session.scalar(select(Agent).where(Agent.login == "bob"))
    agents.grant_group(session, actor=SYSTEM, agent=bob, group=group, permissions=("rw",))
    session.flush()
    return bob


def token_of(client, path: str = "/designer") -> str:
    page = client.get(path)
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert match
    return match.group(1)


def post_json(client, url: str, token: str, body: dict) -> object:
    return client.post(url, json=body, headers={"X-CSRFToken": token})


def test_agents_outside_the_designer_group_get_403_on_the_page_and_on_deploy(
    client, login, session, deployed
):
    login("alice")
    assert client.get("/designer").status_code == 403
    assert client.get("/designer/processes/ticket_handling").status_code == 403
    assert client.get("/designer/operators.json").status_code == 403
    token = csrf_token_in(client.get("/").text)
    for url in ("/designer/validate", "/designer/processes/ticket_handling/deploy"):
        response = post_json(client, url, token, {"bpmn_xml": with_approval(SHIPPED), "note": "x"})
        assert response.status_code == 403, url
    # The API's deploy applies the same rule.
    alice = session.scalar(select(Agent).where(Agent.login == "alice"))
    api_token = agents.create_token(session, actor=SYSTEM, agent=alice, name="test")
    response = client.post(
        "/api/v1/processes/deploy",
        json={"bpmn_xml": with_approval(SHIPPED), "forms": {}},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert response.status_code == 403
    assert len(definitions.list_versions(session, "ticket_handling")) == 1


def test_read_only_on_the_designer_group_is_not_enough(client, login, session, deployed):
    group = session.scalar(select(Group).where(Group.name == definitions.DESIGNER_GROUP))
    alice = session.scalar(select(Agent).where(Agent.login == "alice"))
    agents.grant_group(session, actor=SYSTEM, agent=alice, group=group, permissions=("ro",))
    session.flush()
    login("alice")
    assert client.get("/designer").status_code == 403


def test_a_designer_sees_the_processes_with_their_versions_and_running_instances(
    client, login, session, deployed, designer
):
    login("bob")
    page = client.get("/designer")
    assert page.status_code == 200
    row = re.search(r'<tr data-process="ticket_handling">(.*?)</tr>', page.text, re.S)
    assert row
    assert "Ticket handling" in row.group(1)
    assert "Designer" in page.text  # the header link


def test_the_admin_may_design_and_a_stranger_is_sent_to_sign_in(client, login, deployed):
    assert client.get("/designer").status_code == 302
    login("admin")
    assert client.get("/designer").status_code == 200


def test_posts_need_the_csrf_token(client, login, deployed, designer):
    login("bob")
    response = client.post("/designer/validate", json={"bpmn_xml": SHIPPED})
    assert response.status_code == 400


def test_validate_names_the_elements_of_each_problem(client, login, deployed, designer):
    login("bob")
    token = token_of(client)
    broken = SHIPPED.replace(
        '<spiffworkflow:serviceTaskOperator id="close_ticket"',
        '<spiffworkflow:serviceTaskOperator id="no_such_op"',
    )
    response = post_json(client, "/designer/validate", token, {"bpmn_xml": broken})
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is False
    problem = next(p for p in body["problems"] if "no_such_op" in p["message"])
    assert problem["element_ids"] == ["close_at_triage"]
    fine = post_json(client, "/designer/validate", token, {"bpmn_xml": with_approval(SHIPPED)})
    assert fine.get_json() == {"valid": True, "problems": []}
    garbage = post_json(client, "/designer/validate", token, {"bpmn_xml": "<not bpmn"})
    assert garbage.status_code == 200
    assert garbage.get_json()["valid"] is False


def test_a_draft_is_saved_and_opened_again(client, login, session, deployed, designer):
    login("bob")
    token = token_of(client)
    draft = with_approval(SHIPPED)
    response = post_json(client, "/designer/processes/ticket_handling/draft", token, {"bpmn_xml": draft})
    assert response.status_code == 200
    saved = session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == "ticket_handling"))
    assert saved is not None
    assert saved.author_id == designer.id
    assert client.get("/designer/processes/ticket_handling/diagram.bpmn").text == draft
    assert "Opened from the draft" in client.get("/designer/processes/ticket_handling").text
    wrong = post_json(client, "/designer/processes/donation/draft", token, {"bpmn_xml": draft})
    assert wrong.status_code == 422


def test_deploy_needs_a_note_then_stores_it_and_identical_content_is_unchanged(
    client, login, session, deployed, designer
):
    login("bob")
    token = token_of(client)
    url = "/designer/processes/ticket_handling/deploy"
    changed = with_approval(SHIPPED)
    refused = post_json(client, url, token, {"bpmn_xml": changed, "note": "  "})
    assert refused.status_code == 422
    assert "note" in refused.get_json()["errors"]
    assert len(definitions.list_versions(session, "ticket_handling")) == 1
    created = post_json(client, url, token, {"bpmn_xml": changed, "note": "approval before triage"})
    assert created.status_code == 201
    newest = definitions.list_versions(session, "ticket_handling")[0]
    assert (newest.version, newest.note, newest.deployed_by_id) == (2, "approval before triage", designer.id)
    again = post_json(client, url, token, {"bpmn_xml": changed, "note": "again"})
    assert again.status_code == 200
    assert again.get_json()["unchanged"] is True
    page = client.get("/designer/processes/ticket_handling/versions")
    assert "approval before triage" in page.text
    assert "Bob Second" in page.text


def test_a_deploy_with_problems_names_their_elements(client, login, deployed, designer):
    login("bob")
    token = token_of(client)
    broken = with_approval(SHIPPED).replace(
        'value="triage.schema.json"/></spiffworkflow', 'value="nope.json"/></spiffworkflow'
    )
    response = post_json(
        client, "/designer/processes/ticket_handling/deploy", token, {"bpmn_xml": broken, "note": "n"}
    )
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert any("approval" in p["element_ids"] and "nope.json" in p["message"] for p in problems)


def test_the_diff_lists_exactly_the_added_elements(client, login, session, deployed, designer):
    login("bob")
    token = token_of(client)
    post_json(
        client,
        "/designer/processes/ticket_handling/deploy",
        token,
        {"bpmn_xml": with_approval(SHIPPED), "note": "approval"},
    )
    new, old = definitions.list_versions(session, "ticket_handling")[:2]
    diff = client.get(
        "/designer/processes/ticket_handling/diff", query_string={"a": old.id, "b": new.id, "format": "json"}
    ).get_json()
    assert [e["id"] for e in diff["added"]] == ["approval", "f_approval"]
    assert diff["removed"] == []
    changed = {e["id"]: e["changes"] for e in diff["changed"]}
    assert changed["f_defaults"] == ["targetRef"]
    assert set(changed) == {"f_defaults", "triage", "ticket_handling_lane"}
    page = client.get("/designer/processes/ticket_handling/diff", query_string={"a": old.id, "b": new.id})
    assert page.status_code == 200
    assert 'data-added="approval f_approval"' in page.text


def test_rollback_deploys_the_older_content_as_the_newest_version(client, login, session, deployed, designer):
    login("bob")
    token = token_of(client)
    post_json(
        client,
        "/designer/processes/ticket_handling/deploy",
        token,
        {"bpmn_xml": with_approval(SHIPPED), "note": "approval"},
    )
    first = definitions.list_versions(session, "ticket_handling")[-1]
    page = client.get("/designer/processes/ticket_handling/versions")
    form_token = csrf_token_in(page.text)
    url = "/designer/processes/ticket_handling/rollback"
    refused = client.post(url, data={"version_id": first.id, "note": "", "csrf_token": form_token})
    assert refused.status_code == 422
    done = client.post(url, data={"version_id": first.id, "note": "back to v1", "csrf_token": form_token})
    assert done.status_code == 302
    newest = definitions.list_versions(session, "ticket_handling")[0]
    assert (newest.version, newest.note, newest.bpmn_xml) == (3, "back to v1", first.bpmn_xml)


def test_running_instances_are_counted_per_version(client, login, session, deployed, designer, queue):
    ticket = tickets.create_ticket(session, actor=SYSTEM, title="t", queue=queue("Raw"))
    runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="ticket_handling")
    process_design.deploy(session, SYSTEM, bpmn_xml=with_approval(SHIPPED), note="approval")
    session.flush()
    login("bob")
    page = client.get("/designer/processes/ticket_handling/versions")
    rows = dict(re.findall(r'<tr data-version="(\d+)">.*?<td data-running>(\d+)</td>', page.text, re.S))
    assert rows == {"2": "0", "1": "1"}


def test_ids_no_version_can_have_are_not_found(client, login, deployed, designer):
    login("bob")
    url = "/designer/processes/ticket_handling/diff"
    assert client.get(url, query_string={"a": 2**31, "b": 1}).status_code == 404
    assert client.get(url, query_string={"a": "x", "b": 1}).status_code == 404
    assert (
        client.get(
            "/designer/processes/ticket_handling/diagram.bpmn", query_string={"version": 2**40}
        ).status_code
        == 404
    )
    assert client.get("/designer/processes/no such/diagram.bpmn").status_code == 404


def test_upload_makes_a_draft_and_opens_it(client, login, session, deployed, designer):
    login("bob")
    page = client.get("/designer")
    response = client.post(
        "/designer/upload",
        data={
            "file": (io.BytesIO(with_approval(SHIPPED).encode()), "t.bpmn"),
            "csrf_token": csrf_token_in(page.text),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/designer/processes/ticket_handling")
    bad = client.post(
        "/designer/upload",
        data={"file": (io.BytesIO(b"hello"), "t.bpmn"), "csrf_token": csrf_token_in(page.text)},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert session.scalar(select(ProcessVersion.id).where(ProcessVersion.version == 2)) is None


APPROVAL_FORM = {
    "title": "Approval",
    "type": "object",
    "required": ["approved"],
    "properties": {"approved": {"type": "boolean", "title": "Approve the request"}},
}


def test_the_form_preview_renders_the_ticket_pages_task_form(client, login, deployed, designer):
    login("bob")
    token = token_of(client)
    response = post_json(
        client, "/designer/form-preview", token, {"schema": APPROVAL_FORM, "name": "Approve"}
    )
    assert response.status_code == 200
    assert 'data-field="approved"' in response.text
    assert "Approve the request" in response.text
    assert '<form class="form task-form"' in response.text
    bad = post_json(client, "/designer/form-preview", token, {"schema": ["no"]})
    assert bad.status_code == 422


def test_a_new_form_is_saved_with_the_draft_and_deployed_with_the_diagram(
    client, login, session, deployed, designer
):
    login("bob")
    token = token_of(client)
    xml = with_approval(SHIPPED).replace(
        'value="triage.schema.json"/></spiffworkflow', 'value="approval.schema.json"/></spiffworkflow'
    )
    forms = {"approval.schema.json": APPROVAL_FORM}
    saved = post_json(
        client, "/designer/processes/ticket_handling/draft", token, {"bpmn_xml": xml, "forms": forms}
    )
    assert saved.status_code == 200
    opened = client.get("/designer/processes/ticket_handling/forms/approval.schema.json")
    assert opened.get_json() == APPROVAL_FORM
    without = post_json(client, "/designer/validate", token, {"bpmn_xml": xml})
    assert any("approval.schema.json" in p["message"] for p in without.get_json()["problems"])
    assert post_json(client, "/designer/validate", token, {"bpmn_xml": xml, "forms": forms}).get_json()[
        "valid"
    ]
    bad = post_json(client, "/designer/validate", token, {"bpmn_xml": xml, "forms": {"x": 1}})
    assert bad.status_code == 422
    deployed_now = post_json(
        client,
        "/designer/processes/ticket_handling/deploy",
        token,
        {"bpmn_xml": xml, "forms": forms, "note": "approval form"},
    )
    assert deployed_now.status_code == 201
    newest = definitions.list_versions(session, "ticket_handling")[0]
    assert newest.forms["approval.schema.json"] == APPROVAL_FORM


def with_approval_timer(xml: str, duration: str) -> str:
    """with_approval plus a boundary timer on the approval (its definition has an id, as the
    modeler writes it) leading to triage."""
    xml = with_approval(xml).replace(
        '<bpmn:userTask id="triage" name="Triage">',
        '<bpmn:boundaryEvent id="approval_timer" attachedToRef="approval">\n'
        "      <bpmn:outgoing>f_late</bpmn:outgoing>\n"
        '      <bpmn:timerEventDefinition id="TimerEventDefinition_1">'
        f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{duration}</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition>\n"
        "    </bpmn:boundaryEvent>\n"
        '    <bpmn:userTask id="triage" name="Triage">',
        1,
    )
    xml = xml.replace(
        "<bpmn:incoming>f_approval</bpmn:incoming>",
        "<bpmn:incoming>f_approval</bpmn:incoming>\n      <bpmn:incoming>f_late</bpmn:incoming>",
        1,
    )
    return xml.replace(
        '<bpmn:sequenceFlow id="f_approval" sourceRef="approval" targetRef="triage"/>',
        '<bpmn:sequenceFlow id="f_approval" sourceRef="approval" targetRef="triage"/>\n'
        '    <bpmn:sequenceFlow id="f_late" sourceRef="approval_timer" targetRef="triage"/>',
        1,
    )


def test_a_timer_is_part_of_its_event_in_the_diff(client, login, session, deployed, designer):
    login("bob")
    token = token_of(client)
    url = "/designer/processes/ticket_handling/deploy"
    for duration in ("PT2H", "PT4H"):
        response = post_json(
            client, url, token, {"bpmn_xml": with_approval_timer(SHIPPED, duration), "note": duration}
        )
        assert response.status_code == 201, response.get_json()
    newest, middle, first = definitions.list_versions(session, "ticket_handling")[:3]

    def diff_of(old: ProcessVersion, new: ProcessVersion) -> dict:
        return client.get(
            "/designer/processes/ticket_handling/diff",
            query_string={"a": old.id, "b": new.id, "format": "json"},
        ).get_json()

    added = diff_of(first, middle)["added"]
    assert sorted(e["id"] for e in added) == ["approval", "approval_timer", "f_approval", "f_late"]
    later = diff_of(middle, newest)
    assert later["added"] == []
    assert later["removed"] == []
    changed = {e["id"]: e["changes"] for e in later["changed"]}
    assert list(changed) == ["approval_timer"]
    assert changed["approval_timer"] == ["timerEventDefinition"]


ROUTING = definitions.DEFAULT_BPMN_DIR / "examples" / "routing"


def zipped(files: dict[str, bytes], *, level: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=level) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def upload_zip(client, data: bytes):
    page = client.get("/designer")
    return client.post(
        "/designer/upload",
        data={"file": (io.BytesIO(data), "model.zip"), "csrf_token": csrf_token_in(page.text)},
        content_type="multipart/form-data",
    )


def test_a_zipped_process_model_folder_becomes_a_draft_with_its_forms_and_decisions(
    client, login, session, deployed, designer
):
    login("bob")
    folder = {
        "routing/process_model.json": b'{"display_name": "Routing", "primary_file_name": "routing.bpmn"}',
        "routing/routing.bpmn": (ROUTING / "routing.bpmn").read_bytes(),
        "routing/routing.dmn": (ROUTING / "routing.dmn").read_bytes(),
        "routing/approval.schema.json": json.dumps(APPROVAL_FORM).encode(),
        "routing/": b"",
    }
    response = upload_zip(client, zipped(folder))
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith("/designer/processes/routing")
    draft = session.scalars(select(ProcessDraft).where(ProcessDraft.process_id == "routing")).one()
    assert sorted(draft.forms) == ["approval.schema.json", "routing.dmn"]
    assert draft.forms["routing.dmn"] == (ROUTING / "routing.dmn").read_text()
    page = client.get("/designer/processes/routing")
    assert page.status_code == 200
    assert "Opened from the draft" in page.text
    # The draft's decision goes with the deploy, as the modeler sends the draft's files back.
    token = token_of(client, "/designer/processes/routing")
    deploy = post_json(
        client,
        "/designer/processes/routing/deploy",
        token,
        {"bpmn_xml": draft.bpmn_xml, "note": "imported", "forms": draft.forms},
    )
    assert deploy.status_code == 201, deploy.get_json()
    newest = definitions.latest_version(session, "routing")
    assert newest is not None
    assert "routing.dmn" in newest.forms


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"../routing.bpmn": b"<x/>"}, "a path outside the folder"),
        ({"/etc/routing.bpmn": b"<x/>"}, "a path outside the folder"),
        ({"routing.bpmn": "<?xml version='1.0'?><x/>".encode("utf-16")}, "not UTF-8 text"),
        ({"routing.bpmn": (ROUTING / "routing.bpmn").read_bytes(), "f.json": b"{no"}, "not valid JSON"),
        ({f"f{i}.txt": b"" for i in range(201)}, "more than 200 entries"),
        ({"big.bpmn": b"\0" * 6_000_000}, "larger than 5000000 bytes"),
        ({"process_model.json": b"{}"}, "holds no .bpmn file"),
    ],
)
def test_a_hostile_or_broken_archive_is_refused_clearly(
    client, login, session, deployed, designer, files, problem
):
    login("bob")
    response = upload_zip(client, zipped(files))
    assert response.status_code == 422
    assert problem in response.text
    assert session.scalars(select(ProcessDraft)).all() == []


def test_a_file_that_is_no_zip_is_refused(client, login, deployed, designer):
    login("bob")
    response = upload_zip(client, b"PK\x03\x04 not really")
    assert response.status_code == 422
    assert "not a zip file" in response.text


def test_the_decision_editor_gets_the_dmn_file_of_a_decision(client, login, session, deployed, designer):
    login("bob")
    dmn_text = (ROUTING / "routing.dmn").read_text()
    edited = dmn_text.replace('"Finance"', '"2nd level"')
    process_design.save_draft(
        session,
        designer,
        process_id="routing",
        bpmn_xml=(ROUTING / "routing.bpmn").read_text(),
        forms={"routing.dmn": edited},
    )
    found = client.get("/designer/processes/routing/decisions/routing")
    assert found.status_code == 200
    assert found.get_json() == {"name": "routing.dmn", "xml": edited}
    assert client.get("/designer/processes/routing/decisions/no_such_decision").status_code == 404
    # A decision file is no form: the form endpoint does not serve it.
    assert client.get("/designer/processes/routing/forms/routing.dmn").status_code == 404
