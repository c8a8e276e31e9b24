"""Customer tokens: a customer user reads and writes only their (company's) tickets.

John Doe (ACME) sees his tickets and his colleague Jane Roe's (the OTRS company rule), never
Globex's Ivan Petrov's: another customer's ticket is 404, never 403.  Everything that is not
reading, opening or writing to a ticket is 403 for a customer token.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from core.db import utcnow
from core.errors import PermissionDenied
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import ApiToken
from desk.article import service as articles
from desk.article.service import AttachmentDraft
from desk.ticket import service as tickets_service
from desk.ticket.models import Ticket
from tests.api.conftest import Api, assert_error

JOHN = "john.doe@acme.example"
JANE = "jane.roe@acme.example"
IVAN = "ivan.petrov@globex.example"


@pytest.fixture
def customer_api(client, session, customer):
    """``customer_api(JOHN)``: a client speaking with a fresh token of that customer user."""

    def make(email: str) -> Api:
        token = agents.create_customer_token(session, actor=SYSTEM, customer=customer(email), name="test")
        return Api(client, token, session)

    return make


@pytest.fixture
def john(customer_api):
    return customer_api(JOHN)


def _article(session, ticket, *, visible, body, filename=None):
    drafts = [AttachmentDraft(filename=filename, content_type="text/plain", data=b"data")] if filename else []
    return articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email" if visible else "note",
        body_text=body,
        visible_for_customer=visible,
        attachments=drafts,
    )


@pytest.fixture
def world(session, new_ticket, queue):
    own = new_ticket("1st level", title="John's printer", email=JOHN)
    colleague = new_ticket("1st level", title="Jane's laptop", email=JANE)
    foreign = new_ticket("1st level", title="Ivan's scanner", email=IVAN)
    visible = _article(session, own, visible=True, body="Please restart it.", filename="visible.txt")
    internal = _article(session, own, visible=False, body="Internal: toner fraud?", filename="internal.txt")
    foreign_article = _article(session, foreign, visible=True, body="Hello Ivan", filename="ivan.txt")
    session.flush()
    return {
        "own": own.id,
        "own_number": own.number,
        "colleague": colleague.id,
        "foreign": foreign.id,
        "foreign_number": foreign.number,
        "visible_attachment": visible.attachments[0].id,
        "internal_attachment": internal.attachments[0].id,
        "foreign_attachment": foreign_article.attachments[0].id,
        "raw": queue("Raw").id,
    }


# --- reading ---------------------------------------------------------------------------


def test_the_list_holds_only_his_and_his_companys_tickets(john, world, customer):
    listed = john.get("/tickets?limit=500")
    assert listed.status_code == 200
    ids = {t["id"] for t in listed.get_json()}
    assert {world["own"], world["colleague"]} <= ids
    assert world["foreign"] not in ids
    acme = customer(JOHN).company_id
    assert {t["customer_company_id"] for t in listed.get_json()} == {acme}


def test_he_reads_his_and_his_colleagues_tickets(john, world):
    for ticket_id in (world["own"], world["colleague"]):
        response = john.get(f"/tickets/{ticket_id}")
        assert response.status_code == 200
        assert response.headers["ETag"]
    assert john.get(f"/tickets/by-number/{world['own_number']}").status_code == 200


def test_a_colleague_who_does_not_see_company_tickets_gets_404(customer_api, customer, world, session):
    customer(JANE).sees_company_tickets = False
    session.flush()
    jane = customer_api(JANE)
    assert_error(jane.get(f"/tickets/{world['own']}"), 404, "not_found")
    assert jane.get(f"/tickets/{world['colleague']}").status_code == 200


def test_internal_notes_are_not_in_his_article_list(john, admin_api, world):
    listed = john.get(f"/tickets/{world['own']}/articles").get_json()
    bodies = [a["body_text"] for a in listed]
    assert "Please restart it." in bodies
    assert not any("Internal" in b for b in bodies)
    assert all(a["is_visible_for_customer"] for a in listed)
    # The agent sees both.
    agent_bodies = [a["body_text"] for a in admin_api.get(f"/tickets/{world['own']}/articles").get_json()]
    assert "Internal: toner fraud?" in agent_bodies


def test_attachments_only_of_his_visible_articles(john, world):
    meta = john.get(f"/attachments/{world['visible_attachment']}")
    assert meta.status_code == 200
    assert meta.get_json()["filename"] == "visible.txt"
    content = john.get(f"/attachments/{world['visible_attachment']}/content")
    assert content.status_code == 200
    assert content.data == b"data"
    for attachment in ("internal_attachment", "foreign_attachment"):
        assert_error(john.get(f"/attachments/{world[attachment]}"), 404, "not_found")
        assert_error(john.get(f"/attachments/{world[attachment]}/content"), 404, "not_found")


# --- another customer's ticket is 404 for everything -----------------------------------

FOREIGN = [
    ("GET", "/tickets/{foreign}", None, None),
    ("GET", "/tickets/by-number/{foreign_number}", None, None),
    ("GET", "/tickets/{foreign}/articles", None, None),
    ("GET", "/tickets/{foreign}/history", None, None),
    ("GET", "/tickets/{foreign}/links", None, None),
    ("GET", "/tickets/{foreign}/tasks", None, None),
    ("POST", "/tickets/{foreign}/articles", {"kind": "note", "body": "Let me in"}, None),
    ("POST", "/tickets/{foreign}/articles/upload", None, {"body": "x"}),
    ("POST", "/tickets/{foreign}/attachments", None, {}),
    ("PATCH", "/tickets/{foreign}", {"priority": 1}, None),
    ("POST", "/tickets/{foreign}/lock", None, None),
    ("POST", "/tickets/{foreign}/unlock", None, None),
    ("POST", "/tickets/{foreign}/merge", {"into_ticket_id": "{own}"}, None),
    ("POST", "/tickets/{foreign}/links", {"target_ticket_id": "{own}"}, None),
]


def _fill(value, world):
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in world:
        return world[value[1:-1]]
    return value


def _call(api, world, method, path, body, form):
    kwargs = {}
    if body is not None:
        kwargs["json"] = _fill(body, world)
    if form is not None:
        kwargs["data"] = {**form, "files": (io.BytesIO(b"hello"), "hello.txt")}
        kwargs["content_type"] = "multipart/form-data"
    return api.request(method, path.format(**world), **kwargs)


@pytest.mark.parametrize(
    ("method", "path", "body", "form"), FOREIGN, ids=[f"{m} {p} {b}" for m, p, b, _ in FOREIGN]
)
def test_another_customers_ticket_is_404_never_403(john, world, session, method, path, body, form):
    before = len(articles.list_articles(session, actor=SYSTEM, ticket=_ticket(session, world["foreign"])))
    assert_error(_call(john, world, method, path, body, form), 404, "not_found")
    after = len(articles.list_articles(session, actor=SYSTEM, ticket=_ticket(session, world["foreign"])))
    assert after == before


def _ticket(session, ticket_id):
    from desk.ticket.models import Ticket

    return session.get(Ticket, ticket_id)


def test_a_ticket_that_does_not_exist_is_404_too(john):
    assert_error(john.get("/tickets/999999999"), 404, "not_found")
    assert_error(john.get("/tickets/999999999/history"), 404, "not_found")


# --- agent-only endpoints are 403 ------------------------------------------------------

AGENT_ONLY = [
    ("GET", "/tickets/{own}/history", None, None),
    ("GET", "/tickets/{own}/links", None, None),
    ("GET", "/tickets/{own}/tasks", None, None),
    ("PATCH", "/tickets/{own}", {"priority": 1}, None),
    ("PATCH", "/tickets/{own}", {"state": "closed successful"}, None),
    ("POST", "/tickets/{own}/lock", None, None),
    ("POST", "/tickets/{own}/unlock", None, None),
    ("POST", "/tickets/{own}/merge", {"into_ticket_id": "{colleague}"}, None),
    ("POST", "/tickets/{own}/links", {"target_ticket_id": "{colleague}"}, None),
    ("GET", "/tasks", None, None),
    ("GET", "/tasks/1", None, None),
    ("POST", "/tasks/1/claim", None, None),
    ("POST", "/tasks/1/release", None, None),
    ("POST", "/tasks/1/complete", {"data": {}}, None),
    ("GET", "/processes", None, None),
    ("GET", "/processes/versions/1", None, None),
    ("GET", "/processes/versions/1/bpmn", None, None),
    ("POST", "/processes/validate", {"bpmn_xml": "<x/>"}, None),
    ("POST", "/processes/deploy", {"bpmn_xml": "<x/>"}, None),
    ("GET", "/agents", None, None),
    ("GET", "/agents/1", None, None),
    ("GET", "/customers?email=ivan.petrov@globex.example", None, None),
    ("GET", "/customers/1", None, None),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "form"), AGENT_ONLY, ids=[f"{m} {p} {b}" for m, p, b, _ in AGENT_ONLY]
)
def test_customer_tokens_get_403_on_agent_only_endpoints(john, world, method, path, body, form):
    assert_error(_call(john, world, method, path, body, form), 403, "permission_denied")


# --- writing ---------------------------------------------------------------------------


def test_he_writes_visible_web_articles_to_his_and_his_colleagues_tickets(john, world, admin_api):
    for ticket_id in (world["own"], world["colleague"]):
        response = john.post(
            f"/tickets/{ticket_id}/articles", json={"kind": "note", "body": "Still broken.", "subject": "Re"}
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        body = response.get_json()
        assert (body["channel"], body["sender_type"], body["is_visible_for_customer"], body["from_addr"]) == (
            "web",
            "customer",
            True,
            JOHN,
        )
    upload = john.post(
        f"/tickets/{world['own']}/articles/upload",
        data={"body": "Photo attached", "files": [(io.BytesIO(b"jpeg"), "photo.jpg", "image/jpeg")]},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201
    attachment = upload.get_json()["attachments"][0]
    assert john.get(f"/attachments/{attachment['id']}/content").data == b"jpeg"
    # The agent's view: a follow-up from the customer, not locked for anyone.
    ticket = admin_api.get(f"/tickets/{world['own']}").get_json()
    assert ticket["locked_by"] is None


def test_he_opens_a_web_ticket_for_himself(john, world, customer, admin_api):
    response = john.post(
        "/tickets", json={"title": "Monitor flickers", "queue_id": world["raw"], "body": "Since Monday."}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert created["customer_user_id"] == customer(JOHN).id
    assert created["customer_company_id"] == customer(JOHN).company_id
    assert "owner" not in created
    assert "first_response_due" not in created  # escalation times are the agents' business
    assert admin_api.get(f"/tickets/{created['id']}").get_json()["owner"] is None
    listed = john.get(f"/tickets/{created['id']}/articles").get_json()
    assert [(a["channel"], a["sender_type"], a["is_visible_for_customer"]) for a in listed] == [
        ("web", "customer", True)
    ]
    assert created["id"] in {t["id"] for t in john.get("/tickets").get_json()}
    history = admin_api.get(f"/tickets/{created['id']}/history").get_json()
    assert history[0]["actor_type"] == "customer"


@pytest.mark.parametrize(
    "extra",
    [
        {"customer_user_id": "{ivan}"},
        {"channel": "phone"},
        {"state": "open"},
        {"pending_until": "2030-01-01T00:00:00+00:00"},
    ],
    ids=["for another customer", "phone", "state", "pending"],
)
def test_he_may_not_open_tickets_for_others_or_set_agent_fields(john, world, customer, extra):
    world = {**world, "ivan": customer(IVAN).id}
    body = {"title": "x", "queue_id": world["raw"], "body": "y", **_fill(extra, world)}
    assert_error(john.post("/tickets", json=body), 403, "permission_denied")


def test_naming_himself_as_the_customer_is_fine(john, world, customer):
    body = {"title": "x", "queue_id": world["raw"], "body": "y", "customer_user_id": customer(JOHN).id}
    assert john.post("/tickets", json=body).status_code == 201


# --- tokens ----------------------------------------------------------------------------


def test_revoked_and_expired_customer_tokens_are_401(client, session, customer, world):
    john = customer(JOHN)
    revoked = agents.create_customer_token(session, actor=john, customer=john)
    row = session.query(ApiToken).order_by(ApiToken.id.desc()).first()
    assert (row.agent_id, row.customer_user_id) == (None, john.id)
    agents.revoke_token(session, actor=john, token_id=row.id)
    expired = agents.create_customer_token(
        session, actor=SYSTEM, customer=john, expires_at=utcnow() - timedelta(seconds=1)
    )
    for token in (revoked, expired):
        response = client.get(f"/api/v1/tickets/{world['own']}", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 401, "unauthorized")


def test_an_invalid_customer_users_token_is_401(john, world, customer, session):
    assert john.get(f"/tickets/{world['own']}").status_code == 200
    customer(JOHN).valid = False
    session.flush()
    assert_error(john.get(f"/tickets/{world['own']}"), 401, "unauthorized")


def test_who_may_issue_customer_tokens(session, customer, agent):
    john, ivan = customer(JOHN), customer(IVAN)
    assert agents.create_customer_token(session, actor=agent("admin"), customer=john)
    assert agents.create_customer_token(session, actor=john, customer=john)
    for actor in (agent("alice"), ivan):
        with pytest.raises(PermissionDenied):
            agents.create_customer_token(session, actor=actor, customer=john)
    token = agents.create_customer_token(session, actor=john, customer=john)
    assert agents.authenticate_token(session, token=token) == john
    row = session.query(ApiToken).order_by(ApiToken.id.desc()).first()
    with pytest.raises(PermissionDenied):
        agents.revoke_token(session, actor=ivan, token_id=row.id)


def test_a_token_row_needs_exactly_one_owner(session, agent, customer):
    from sqlalchemy.exc import IntegrityError

    for owner in ({}, {"agent_id": agent("alice").id, "customer_user_id": customer(JOHN).id}):
        nested = session.begin_nested()
        session.add(ApiToken(token_hash="x" * 64, **owner))
        with pytest.raises(IntegrityError):
            session.flush()
        nested.rollback()


def test_writing_to_his_closed_ticket_reopens_it(john, world, session):
    from desk.ticket import states
    from desk.ticket.models import Ticket

    ticket = session.get(Ticket, world["own"])
    tickets_service.set_state(
        session, actor=SYSTEM, ticket=ticket, state=states.get_state(session, "closed successful")
    )
    session.flush()

    response = john.post(
        f"/tickets/{world['own']}/articles", json={"kind": "note", "body": "It is broken again."}
    )

    assert response.status_code == 201
    session.refresh(ticket)
    assert ticket.state.name == "open"


# --- queues offered to customers -------------------------------------------------------

CUSTOMER_QUEUES = {"Raw", "Finance", "General"}


def test_he_lists_only_the_queues_offered_to_customers(john, admin_api):
    listed = john.get("/queues")

    assert listed.status_code == 200
    assert {q["name"] for q in listed.get_json()} == CUSTOMER_QUEUES
    # Nothing about the team behind a queue: no group, address or policy.
    assert all(set(q) == {"id", "name"} for q in listed.get_json())
    agents_view = {q["name"]: q for q in admin_api.get("/queues").get_json()}
    assert {"Board", "2nd level", "Raw"} <= set(agents_view)
    assert agents_view["Raw"]["customer_facing"] is True
    assert agents_view["Board"]["customer_facing"] is False


def test_an_internal_queue_is_404_to_him(john, queue):
    assert john.get(f"/queues/{queue('Raw').id}").get_json() == {"id": queue("Raw").id, "name": "Raw"}
    for internal in ("Board", "2nd level", "Board::Treasurer"):
        assert_error(john.get(f"/queues/{queue(internal).id}"), 404, "not_found")


@pytest.mark.parametrize("internal", ["Board", "2nd level", "Board::Treasurer", "Tennis::Youth"])
def test_he_cannot_open_a_ticket_in_an_internal_queue(john, queue, session, internal):
    before = session.query(Ticket).count()

    refused = assert_error(
        john.post("/tickets", json={"title": "Let me in", "queue_id": queue(internal).id, "body": "Hi"}),
        422,
        "validation_error",
    )

    assert "open to customers" in refused["errors"]["queue_id"][0]
    # An internal queue reads like one that does not exist: its name is not told.
    assert internal not in refused["message"] + refused["errors"]["queue_id"][0]
    unknown = assert_error(john.post("/tickets", json={"title": "x", "queue_id": 999999, "body": "y"}), 422)
    assert unknown["message"] == refused["message"]
    assert session.query(Ticket).count() == before


def test_he_opens_tickets_in_every_queue_offered_to_him(john, queue):
    for name in sorted(CUSTOMER_QUEUES):
        response = john.post(
            "/tickets", json={"title": f"For {name}", "queue_id": queue(name).id, "body": "Hi"}
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["queue"] == name


def test_the_desk_refuses_customers_in_internal_queues_too(session, customer, queue):
    """The same rule below the API, for every future channel of customers (the portal)."""
    with pytest.raises(PermissionDenied):
        tickets_service.create_ticket(session, actor=customer(JOHN), title="x", queue=queue("Board"))


# --- what his ticket JSON tells him ----------------------------------------------------

AGENT_FIELDS = {"owner", "responsible", "locked_by", "pending_until"}


@pytest.fixture
def handled(session, world, agent, queue):
    """His ticket, owned and locked by alice, bob responsible, moved to the internal 2nd level."""
    ticket = session.get(Ticket, world["own"])
    ticket.owner_id = agent("alice").id
    ticket.locked_by_id = agent("alice").id
    ticket.responsible_id = agent("bob").id
    ticket.queue_id = queue("2nd level").id
    session.flush()
    return ticket


def test_his_ticket_json_names_no_agent_and_no_internal_queue(john, world, handled):
    shown = [
        john.get(f"/tickets/{world['own']}").get_json(),
        john.get(f"/tickets/by-number/{world['own_number']}").get_json(),
        next(t for t in john.get("/tickets").get_json() if t["id"] == world["own"]),
    ]

    for ticket in shown:
        assert AGENT_FIELDS.isdisjoint(ticket), ticket
        assert (ticket["queue_id"], ticket["queue"]) == (None, None)
        assert ticket["number"] == world["own_number"]
        assert "alice" not in str(ticket)
        assert "bob" not in str(ticket)
        assert "2nd level" not in str(ticket)


def test_the_agent_still_sees_who_handles_it(admin_api, world, handled):
    ticket = admin_api.get(f"/tickets/{world['own']}").get_json()

    assert (ticket["owner"], ticket["locked_by"], ticket["responsible"], ticket["queue"]) == (
        "alice",
        "alice",
        "bob",
        "2nd level",
    )


def test_a_ticket_he_opens_comes_back_trimmed(john, world):
    response = john.post("/tickets", json={"title": "Mouse", "queue_id": world["raw"], "body": "Dead."})

    created = response.get_json()
    assert AGENT_FIELDS.isdisjoint(created)
    assert created["queue"] == "Raw"
    assert response.headers["ETag"] == f'"ticket-{created["id"]}-v{created["version"]}"'
