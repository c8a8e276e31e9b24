"""Deploying a diagram with its DMN decision tables through the API (issue 13)."""

from __future__ import annotations

from engine import definitions
from tests.api.conftest import assert_error

EXAMPLE = definitions.DEFAULT_BPMN_DIR / "examples" / "routing"


def test_a_designer_deploys_a_diagram_with_its_decision_table(api_as):
    admin = api_as("admin")
    bpmn, dmn = (EXAMPLE / "routing.bpmn").read_text(), (EXAMPLE / "routing.dmn").read_text()
    missing = admin.post("/processes/validate", json={"bpmn_xml": bpmn})
    assert missing.status_code == 200
    (problem,) = missing.get_json()["problems"]
    assert "the decision 'routing' is in no DMN file deployed with the diagram" in problem

    checked = admin.post("/processes/validate", json={"bpmn_xml": bpmn, "decisions": {"routing.dmn": dmn}})
    assert checked.get_json() == {"valid": True, "process_ids": ["routing"], "problems": []}
    deployed = admin.post("/processes/deploy", json={"bpmn_xml": bpmn, "decisions": {"routing.dmn": dmn}})
    assert deployed.status_code == 201, deployed.text
    assert [v["process_id"] for v in deployed.get_json()] == ["routing"]
    assert_error(
        admin.post("/processes/deploy", json={"bpmn_xml": bpmn, "decisions": {"routing.txt": dmn}}), 422
    )
