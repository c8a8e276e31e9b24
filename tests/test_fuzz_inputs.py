"""Hostile input to every web form and every API operation: never a server error.

Property-based (hypothesis): each route of the app's ``url_map`` outside the API, and each
operation of the API's own OpenAPI document, gets a bounded number of requests made of
hostile values: NUL, lone surrogates (raw in forms, ``\\ud800`` escapes in JSON), overlong
UTF-8, right-to-left overrides, HTML and script, template syntax, huge and deeply nested
JSON, huge numbers, bodies over the size limit.  Forms are posted by a signed-in
administrator with a valid CSRF token; API requests carry an administrator's or a
customer's token.  The app runs with ``testing = True``, so an unhandled exception fails
the test with its traceback instead of becoming a 500 page, and a 500 response fails too.

``CI=true`` derandomizes the examples (the same ones on every run); elsewhere each run
tries new ones.  The example counts keep the module well under a minute.
"""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from core.config import get_settings
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.article.models import Article, Attachment
from desk.customer.models import CustomerUser
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.models import HumanTask, ProcessVersion
from tests.web.conftest import csrf_token_in, sign_in
from web import create_app
from web.tickets.actions import ACTIONS

IN_CI = os.environ.get("CI", "").lower() == "true"
FUZZ = settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=IN_CI,
    suppress_health_check=list(HealthCheck),
)
TOO_LARGE = get_settings().max_request_bytes + 1

# --- hostile values -------------------------------------------------------------------------

HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\udc80\udcff",
    "\u202eevil\u202c.exe",
    "\u200f\u200e\u2066",
    "\ufeff",
    "\ufffd",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}{% raw %}",
    "${7*7}",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00%ff",
    "\r\nX-Injected: 1",
    "a" * 100_000,
    "🎫" * 2000,
    "ﷺ" * 500,
    "١٢٣",
    "９９",
    "-1",
    "0",
    "2147483648",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "null",
    "2026-02-30T25:61:00",
    "john.doe@acme.example",
    "support@helpdesk.example\x00",
]
TEXT = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
)
# Bytes a browser could send in a form or query: also overlong and broken UTF-8.
FORM_BYTES = st.one_of(
    TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xff\xfe", b"\x80"]),
    st.binary(max_size=30),
)
JSON_SCALAR = st.one_of(
    TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
RAW_BODIES = st.sampled_from(
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"data": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b'{"title": "\\ud800", "body": "\\udfff", "bpmn_xml": "\\ud800"}',
        b'{"title": "a\\u0000b"}',
        b"{",
        b"\xff\xfe\x00",
        b"null",
        b"[]",
        b'"just a string"',
        b"1e999999",
        b'{"a": 1, "a": 2}',
        b"x" * TOO_LARGE,
    ]
)


# --- the app and the world it works on ------------------------------------------------------


class World:
    """What the requests need: the app, its clients, tokens and ids that exist."""

    def __init__(self, app: Flask, session: Session) -> None:
        self.app = app
        self.session = session
        self.ticket = session.scalars(select(Ticket).where(Ticket.title == "I forgot my password")).one()
        definitions.deploy_directory(session, actor=SYSTEM)
        instance = runtime.start(session, actor=SYSTEM, ticket=self.ticket)
        session.flush()
        self.task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).first()
        self.article = session.scalars(select(Article).where(Article.ticket_id == self.ticket.id)).first()
        self.attachment = session.scalars(select(Attachment)).first()
        self.version = session.scalars(select(ProcessVersion)).first()
        admin = session.scalars(select(Agent).where(Agent.login == "admin")).one()
        john = session.scalars(
            select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
        ).one()
        self.tokens = {
            "admin": agents.create_token(session, actor=SYSTEM, agent=admin, name="fuzz"),
            "customer": agents.create_customer_token(session, actor=SYSTEM, customer=john, name="fuzz"),
        }
        self.ids = {
            "ticket_id": self.ticket.id,
            "task_id": self.task.id if self.task else 1,
            "article_id": self.article.id if self.article else 1,
            "attachment_id": self.attachment.id if self.attachment else 1,
            "version_id": self.version.id if self.version else 1,
            "queue_id": self.ticket.queue_id,
            "agent_id": admin.id,
            "customer_id": john.id,
        }
        self.api = app.test_client()
        self.sign_in()

    def sign_in(self) -> None:
        # A fresh browser: a revoked session's cookie must not get in the way.
        self.browser = self.app.test_client()
        response = sign_in(self.browser, "admin")
        assert response.status_code in (302, 303), response.text[:300]
        self.csrf = csrf_token_in(self.browser.get("/tickets/new/phone").text)

    def form_names(self) -> list[str]:
        """Every field name of the pages that hold the forms."""
        pages = [
            f"/tickets/{self.ticket.id}",
            "/tickets/new/phone",
            "/admin/mailboxes",
            "/search",
            "/account",
            "/inbox",
        ]
        names: set[str] = set()
        for page in pages:
            names.update(re.findall(r'name="([^"]+)"', self.browser.get(page).text))
        names.discard("csrf_token")
        return sorted(names) or ["body"]


@pytest.fixture
def world(session: Session) -> World:
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    app = create_app(get_settings(), session_factory=factory)
    # An unhandled exception fails the test with its traceback (it would be a 500 page).
    app.testing = True
    return World(app, session)


def assert_no_server_error(response: TestResponse, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"


# --- the web forms --------------------------------------------------------------------------

_SPEC_APP = create_app(get_settings())
_SIGNS_OUT = {"auth.logout", "auth.sign_out_everywhere"}
WEB_ROUTES = sorted(
    (rule.rule, method, rule.endpoint)
    for rule in _SPEC_APP.url_map.iter_rules()
    if not rule.rule.startswith("/api/") and rule.endpoint != "static"
    for method in sorted((rule.methods or set()) & {"GET", "POST"})
)
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _web_path(data: st.DataObject, world: World, rule: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        if name == "name":
            return data.draw(st.sampled_from(sorted(ACTIONS)) | st.sampled_from(["nope", "%00"]))
        real = world.ids.get(name, 1)
        return str(data.draw(st.sampled_from([real, real, 0, 2**31, 2**63])))

    return _PARAM.sub(value, rule)


def _fuzz_web_route(world: World, names: list[str], rule: str, method: str, endpoint: str) -> None:
    @FUZZ
    @given(st.data())
    def post(data: st.DataObject) -> None:
        path = _web_path(data, world, rule)
        fields = data.draw(st.dictionaries(st.sampled_from(names) | TEXT, FORM_BYTES, max_size=6), "fields")
        query = data.draw(st.dictionaries(st.sampled_from(names), FORM_BYTES, max_size=3), "query")
        url = f"{path}?{urlencode(query)}" if query else path
        if method == "GET":
            response = world.browser.get(url)
        else:
            pairs = [(k.encode("utf-8", "surrogatepass"), v) for k, v in fields.items()]
            body = urlencode([(b"csrf_token", world.csrf.encode()), *pairs])
            response = world.browser.post(url, data=body, content_type="application/x-www-form-urlencoded")
        assert_no_server_error(response, f"{method} {url}")
        if endpoint in _SIGNS_OUT:
            world.sign_in()

    post()


# One test per kind of request, each looping over its routes: the world (processes deployed,
# an agent signed in) is built once per test, not once per route.
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_hostile_form_input_is_never_a_server_error(world: World, method: str) -> None:
    names = world.form_names()
    for rule, route_method, endpoint in WEB_ROUTES:
        if route_method == method:
            _fuzz_web_route(world, names, rule, method, endpoint)


def test_hostile_file_names_in_an_upload_are_never_a_server_error(world: World) -> None:
    @FUZZ
    @given(TEXT, st.binary(max_size=100))
    def upload(name: str, content: bytes) -> None:
        # The test client writes file names as UTF-8; a lone surrogate goes as U+FFFD there.
        filename = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        response = world.browser.post(
            f"/tickets/{world.ticket.id}/note",
            data={
                "csrf_token": world.csrf,
                "body": "see file",
                "attachments": (io.BytesIO(content), filename),
            },
            content_type="multipart/form-data",
        )
        assert_no_server_error(response, f"upload {filename!r}")

    upload()


# --- the API --------------------------------------------------------------------------------

_SPEC = _SPEC_APP.test_client().get("/api/v1/openapi.json").get_json()
OPERATIONS = sorted(
    (path, method)
    for path, operations in _SPEC["paths"].items()
    for method in operations
    if method in ("get", "post", "patch", "put", "delete")
)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return dict(_SPEC["components"]["schemas"][ref.rsplit("/", 1)[-1]])
    return schema


def _plausible(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value of the documented type, often near what the server expects, often hostile."""
    schema = _resolve(schema)
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | JSON_VALUE
    if kind == "integer":
        return (
            st.integers(min_value=-1, max_value=40)
            | st.sampled_from([0, 2**31, 2**63, -(2**63)])
            | JSON_VALUE
        )
    if kind == "boolean":
        return st.booleans() | JSON_VALUE
    if kind == "array":
        return st.lists(_plausible(schema.get("items", {})), max_size=4) | JSON_VALUE
    if kind == "object":
        props = schema.get("properties") or {}
        if props:
            return st.fixed_dictionaries({}, optional={k: _plausible(v) for k, v in props.items()})
        return st.dictionaries(TEXT, JSON_VALUE, max_size=4)
    return TEXT | JSON_VALUE


def _api_path(data: st.DataObject, world: World, path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "number":
            return data.draw(st.sampled_from([world.ticket.number, "%00", "x" * 100, "%ED%A0%80"]))
        real = world.ids.get(name, 1)
        return str(data.draw(st.sampled_from([real, real, 0, 2**31, 2**63])))

    return re.sub(r"\{(\w+)\}", value, path)


def _fuzz_api_operation(world: World, path: str, method: str) -> None:
    operation = _SPEC["paths"][path][method]
    parameters = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    content = operation.get("requestBody", {}).get("content", {})

    @FUZZ
    @given(st.data())
    def call(data: st.DataObject) -> None:
        url = _api_path(data, world, path)
        query = [(p["name"], v) for p in parameters for v in data.draw(st.lists(FORM_BYTES, max_size=2))]
        if query:
            url = f"{url}?{urlencode(query)}"
        headers = {
            "Authorization": f"Bearer {world.tokens[data.draw(st.sampled_from(sorted(world.tokens)))]}"
        }
        kwargs: dict[str, Any] = {}
        if "application/json" in content:
            schema = content["application/json"]["schema"]
            body = data.draw(
                _plausible(schema).map(lambda v: json.dumps(v).encode())
                | RAW_BODIES
                | JSON_VALUE.map(lambda v: json.dumps(v).encode()),
                "body",
            )
            kwargs = {"data": body, "content_type": "application/json"}
        elif "multipart/form-data" in content:
            text = data.draw(TEXT).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            name = data.draw(TEXT).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            kwargs = {
                "data": {"body": text, "kind": text[:10], "files": (io.BytesIO(b"data"), name or "f")},
                "content_type": "multipart/form-data",
            }
        response = world.api.open(url, method=method.upper(), headers=headers, **kwargs)
        assert_no_server_error(response, f"{method.upper()} {url}")
        if response.status_code >= 400 and response.mimetype == "application/json":
            assert set(response.get_json()) == {"code", "message", "errors"}, response.text[:300]

    call()


@pytest.mark.parametrize("reads", [True, False], ids=["GET", "POST-PATCH"])
def test_hostile_api_input_is_never_a_server_error(world: World, reads: bool) -> None:
    for path, method in OPERATIONS:
        if (method == "get") == reads:
            _fuzz_api_operation(world, path, method)
