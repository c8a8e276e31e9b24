"""The input policy in the API: text that cannot be stored, deep JSON, large bodies, long lists.

Each case answered a server error (or grew the server by hundreds of megabytes) before the
policy; now it is the API's error body with a 4xx, and nothing was written.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from core.config import get_settings
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.article.models import Article
from desk.ticket.models import STATE_TYPES, Ticket
from engine import definitions, runtime
from engine.models import HumanTask
from tests.api.conftest import Api, assert_error
from web import create_app
from web.api.schemas import MAX_LIST_ITEMS, MAX_TASK_DATA_BYTES, MAX_TASK_DATA_DEPTH
from web.auth.limiter import InMemoryLoginLimiter
from web.input_policy import MAX_JSON_DEPTH, json_too_deep

# Written by hand: a JSON encoder would refuse or pair the surrogate.
LONE_SURROGATE = '"a\\ud800b"'


def raw_json(api: Api, method: str, path: str, body: str | bytes):
    return api.request(method, path, data=body, content_type="application/json")


def counts(session) -> tuple[int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Ticket)),
        session.scalar(select(func.count()).select_from(Article)),
    )


@pytest.fixture
def triage(session, new_ticket):
    definitions.deploy_directory(session, actor=SYSTEM)
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket("Raw"))
    session.flush()
    return session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()


# --- lone surrogates -----------------------------------------------------------------------


def test_a_lone_surrogate_in_a_ticket_title_is_a_422(admin_api, session, queue):
    before = counts(session)
    body = f'{{"title": {LONE_SURROGATE}, "queue_id": {queue("Raw").id}, "body": "x"}}'

    response = raw_json(admin_api, "POST", "/tickets", body)

    errors = assert_error(response, 422, "validation_error")["errors"]
    assert errors == {"title": ["must be valid Unicode (no lone surrogates)"]}
    assert counts(session) == before


def test_a_lone_surrogate_in_an_article_body_is_a_422(admin_api, session, new_ticket):
    ticket = new_ticket()
    before = counts(session)

    response = raw_json(admin_api, "POST", f"/tickets/{ticket.id}/articles", f'{{"body": {LONE_SURROGATE}}}')

    assert "body" in assert_error(response, 422)["errors"]
    assert counts(session) == before


def test_a_lone_surrogate_in_a_patched_title_changes_nothing(admin_api, session, new_ticket):
    ticket = new_ticket(title="Printer prints blank pages")

    response = raw_json(admin_api, "PATCH", f"/tickets/{ticket.id}", f'{{"title": {LONE_SURROGATE}}}')

    assert "title" in assert_error(response, 422)["errors"]
    session.refresh(ticket)
    assert ticket.title == "Printer prints blank pages"


@pytest.mark.parametrize(
    "body",
    [
        f'{{"bpmn_xml": {LONE_SURROGATE}}}',
        f'{{"bpmn_xml": "<x/>", "forms": {{{LONE_SURROGATE}: {{}}}}}}',
        f'{{"bpmn_xml": "<x/>", "forms": {{"f.json": {{"title": {LONE_SURROGATE}}}}}}}',
    ],
    ids=["document", "form-name", "inside-a-form"],
)
def test_a_lone_surrogate_anywhere_in_a_bpmn_validation_is_a_422(admin_api, body):
    response = raw_json(admin_api, "POST", "/processes/validate", body)

    assert assert_error(response, 422)["errors"]


def test_a_nul_in_task_data_is_a_422_naming_the_field(admin_api, triage):
    response = admin_api.post(f"/tasks/{triage.id}/complete", json={"data": {"comment": "a\x00b"}})

    assert assert_error(response, 422)["errors"] == {"data.comment": ["must not contain NUL characters"]}
    assert triage.state == "open"


def test_a_nul_in_a_query_parameter_is_a_422(admin_api):
    response = admin_api.get("/processes", query_string={"process_id": "a\x00b"})

    assert "process_id" in assert_error(response, 422)["errors"]


# --- deep JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000],
    ids=["100k-arrays", "50k-objects"],
)
def test_deeply_nested_json_is_a_400_before_it_is_parsed(admin_api, session, body):
    before = counts(session)

    response = raw_json(admin_api, "POST", "/tickets", body)

    errors = assert_error(response, 400, "bad_request")["errors"]
    assert errors == {"json": [f"nested deeper than {MAX_JSON_DEPTH} levels"]}
    assert counts(session) == before


def test_5k_arrays_inside_task_data_are_a_400_and_the_task_stays_open(admin_api, session, triage):
    body = '{"data": {"decision": "work", "x": ' + "[" * 5000 + "]" * 5000 + "}}"

    response = raw_json(admin_api, "POST", f"/tasks/{triage.id}/complete", body)

    assert_error(response, 400, "bad_request")
    session.refresh(triage)
    assert triage.state == "open"


def test_task_data_deeper_than_its_own_limit_is_a_422(admin_api, session, triage):
    depth = MAX_TASK_DATA_DEPTH + 1
    body = '{"data": {"decision": "work", "x": ' + "[" * depth + "]" * depth + "}}"

    response = raw_json(admin_api, "POST", f"/tasks/{triage.id}/complete", body)

    assert "data" in assert_error(response, 422)["errors"]
    session.refresh(triage)
    assert triage.state == "open"


def test_task_data_larger_than_its_limit_is_a_422(admin_api, triage):
    data = {"decision": "work", "comment": "x" * (MAX_TASK_DATA_BYTES + 1)}

    response = admin_api.post(f"/tasks/{triage.id}/complete", json={"data": data})

    assert "data" in assert_error(response, 422)["errors"]


def test_brackets_inside_strings_do_not_count_as_depth():
    text = json.dumps({"body": "[" * 10_000 + "{" * 10_000, "ok": [[['\\"[']]]}).encode()

    assert not json_too_deep(text)
    assert json_too_deep(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert not json_too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)


def test_a_body_with_brackets_in_its_text_is_accepted(admin_api, queue):
    body = "[" * 5000 + "{" * 5000 + " copied from a log"

    response = admin_api.post("/tickets", json={"title": "Log", "queue_id": queue("Raw").id, "body": body})

    assert response.status_code == 201, response.text


# --- body size -----------------------------------------------------------------------------


def test_a_body_over_30_mib_from_a_customer_token_is_a_413(client, session, customer):
    token = agents.create_customer_token(
        session, actor=SYSTEM, customer=customer("john.doe@acme.example"), name="test"
    )
    john = Api(client, token, session)
    body = b'{"title": "' + b"x" * (30 * 1024 * 1024) + b'"}'

    response = raw_json(john, "POST", "/tickets", body)

    assert_error(response, 413, "too_large")


def test_the_limit_is_a_setting(session, agent):
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    app = create_app(
        replace(get_settings(), max_request_bytes=1000),
        session_factory=factory,
        login_limiter=InMemoryLoginLimiter(),
    )
    app.testing = True
    token = agents.create_token(session, actor=SYSTEM, agent=agent("admin"), name="t")
    api = Api(app.test_client(), token, session)

    assert_error(api.post("/tickets", json={"title": "x" * 2000}), 413, "too_large")
    assert_error(api.post("/tickets", json={"title": "x"}), 422)  # small bodies still pass the limit


# --- list parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "values"),
    [
        ("/tickets", "queue_id", [str(i) for i in range(1, MAX_LIST_ITEMS + 2)]),
        ("/tickets", "state_type", [STATE_TYPES[0]] * (len(STATE_TYPES) + 1)),
        ("/tasks", "queue_id", [str(i) for i in range(1, MAX_LIST_ITEMS + 2)]),
    ],
    ids=["tickets-queue_id", "tickets-state_type", "tasks-queue_id"],
)
def test_a_list_parameter_beyond_its_maximum_is_a_422(admin_api, path, name, values):
    response = admin_api.get(path, query_string=[(name, v) for v in values])

    assert name in assert_error(response, 422)["errors"]


def test_a_list_parameter_at_its_maximum_is_fine(admin_api):
    values = [str(i) for i in range(1, MAX_LIST_ITEMS + 1)]

    response = admin_api.get("/tickets", query_string=[("queue_id", v) for v in values])

    assert response.status_code == 200


def test_a_multipart_part_with_a_malformed_name_is_no_server_error(admin_api, new_ticket):
    # Found by schemathesis: ``name="\"`` makes werkzeug return the part without a name.
    ticket = new_ticket()
    boundary = "6f9cf19471cdba90f3de805033f91d6e"
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="\\"\r\n\r\nnull\r\n--{boundary}--\r\n'
    response = admin_api.post(
        f"/tickets/{ticket.id}/articles/upload",
        data=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.get_json()["code"]
