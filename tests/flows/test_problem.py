"""S9: incidents grouped under a problem ticket; one message reaches every reporter in their
own ticket's thread, through the outbox, each mail addressed to that reporter alone."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.errors import PermissionDenied
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.customer import service as customers
from desk.history.models import History
from desk.outbox.models import OutboxMessage
from desk.problem import service as problems
from desk.problem.models import ProblemRecipient
from desk.ticket import service as tickets
from flows import problem as problem_flow
from mail.outbound.compose import compose

REPORTERS = 30
_ADDRESS = re.compile(r"[\w.+-]+@[\w.-]+")


@pytest.fixture
def outage(session, queue):
    """A problem ticket and 30 incident tickets, each from a reporter of its own."""
    first_level = queue("1st level")
    problem = tickets.create_ticket(session, actor=SYSTEM, title="Mail server down", queue=first_level)
    incidents = []
    for n in range(REPORTERS):
        reporter = customers.create_customer_user(
            session, actor=SYSTEM, email=f"reporter{n:02d}@outage.example", first_name=f"R{n}"
        )
        incident = tickets.create_ticket(
            session, actor=SYSTEM, title=f"No mail for me ({n})", queue=first_level, customer_user=reporter
        )
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=incident,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=f"No mail for me ({n})",
            body_text="Outlook says the server is unreachable.",
            from_addr=reporter.email,
            message_id=f"<incident{n}@outage.example>",
        )
        incidents.append(incident)
    session.flush()
    return problem, incidents


def test_one_message_reaches_every_reporter_in_their_own_thread(session, agent, outage):
    problem, incidents = outage
    alice = agent("alice")
    problem_flow.link_incidents(session, actor=alice, problem=problem, incidents=incidents)
    assert [t.id for t in problems.incidents_of(session, actor=alice, problem=problem)] == [
        t.id for t in incidents
    ]

    message = problem_flow.message_reporters(
        session, actor=alice, problem=problem, body_text="The mail server is back. Sorry for the outage."
    )
    session.flush()
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.ticket_id.in_([t.id for t in incidents]))
    ).all()
    assert len(rows) == REPORTERS
    by_ticket = {row.ticket_id: row for row in rows}
    for n, incident in enumerate(incidents):
        row = by_ticket[incident.id]
        mail = compose(row, session=session)
        reporter = f"reporter{n:02d}@outage.example"
        assert mail["To"] == reporter
        assert mail["Cc"] is None
        assert f"[Ticket#{incident.number}]" in mail["Subject"]
        assert "Mail server down" in mail["Subject"]
        assert mail["In-Reply-To"] == f"<incident{n}@outage.example>"
        assert f"<incident{n}@outage.example>" in mail["References"]
        # No other reporter's address anywhere in the mail, headers or text.
        everything = mail.as_string()
        others = {a for a in _ADDRESS.findall(everything) if a.startswith("reporter")}
        assert others == {reporter}
        text = mail.get_body(preferencelist=("plain",))
        assert text is not None
        assert "The mail server is back." in text.get_content()
        # The article is in the incident's own thread, visible to its reporter.
        article = row.article
        assert article is not None
        assert article.ticket_id == incident.id
        assert article.is_visible_for_customer
    assert [r.ticket_id for r in message.recipients] == [t.id for t in incidents]

    delivered = problems.deliveries(session, actor=alice, problem=problem)
    assert len(delivered) == 1
    states = [(d.ticket.id, d.address, d.status) for d in delivered[0][1]]
    assert states == [(t.id, f"reporter{n:02d}@outage.example", "queued") for n, t in enumerate(incidents)]
    entry = session.scalars(
        select(History).where(History.ticket_id == problem.id, History.type == "SendAnswer")
    ).one()
    assert entry.comment == f"message to the reporters of {REPORTERS} of {REPORTERS} incident(s)"


def test_an_incident_that_cannot_be_answered_does_not_stop_the_others(session, agent, outage):
    problem, incidents = outage
    alice, admin = agent("alice"), agent("admin")
    problem_flow.link_incidents(session, actor=alice, problem=problem, incidents=incidents[:3])
    # Another agent answers the second reporter first and holds the ticket's lock.
    tickets.auto_lock_for_answer(session, agent=admin, ticket=incidents[1])
    message = problem_flow.message_reporters(session, actor=alice, problem=problem, body_text="Fixed.")
    errors = {r.ticket_id: r.error for r in message.recipients}
    assert errors[incidents[0].id] is None
    assert errors[incidents[2].id] is None
    assert "locked by" in (errors[incidents[1].id] or "")
    assert (
        session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == incidents[1].id)).all() == []
    )
    states = {d.ticket.id: d.status for d in problems.deliveries(session, actor=alice, problem=problem)[0][1]}
    assert states == {incidents[0].id: "queued", incidents[1].id: "not sent", incidents[2].id: "queued"}


def test_an_incident_says_it_belongs_to_the_problem(session, agent, outage):
    problem, incidents = outage
    alice = agent("alice")
    problem_flow.belongs_to(session, actor=alice, incident=incidents[0], problem=problem)
    assert [p.id for p in problems.problems_of(session, actor=alice, incident=incidents[0])] == [problem.id]


def test_closing_the_problem_closes_the_incidents_with_the_message(session, agent, outage):
    problem, incidents = outage
    alice = agent("alice")
    problem_flow.link_incidents(session, actor=alice, problem=problem, incidents=incidents[:5])
    problem_flow.close_problem(
        session, actor=alice, problem=problem, body_text="All fixed.", close_incidents=True
    )
    session.flush()
    assert problem.state.type == "closed"
    for incident in incidents[:5]:
        assert incident.state.name == "closed successful"
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == incident.id)).one()
    # Tickets that are not incidents of the problem are left alone.
    assert incidents[5].state.type == "new"


def test_closing_without_the_incidents_leaves_them_open(session, agent, outage):
    problem, incidents = outage
    alice = agent("alice")
    problem_flow.link_incidents(session, actor=alice, problem=problem, incidents=incidents[:2])
    problem_flow.close_problem(session, actor=alice, problem=problem)
    assert problem.state.type == "closed"
    assert [t.state.type for t in incidents[:2]] == ["new", "new"]
    assert session.scalars(select(ProblemRecipient)).all() == []


def test_a_message_needs_rw_on_the_problems_queue_first(session, agent, outage):
    problem, incidents = outage
    problem_flow.link_incidents(session, actor=agent("alice"), problem=problem, incidents=incidents[:2])
    with pytest.raises(PermissionDenied):
        problem_flow.message_reporters(session, actor=agent("trainee"), problem=problem, body_text="")
    with pytest.raises(PermissionDenied):
        problem_flow.message_reporters(session, actor=agent("consultant"), problem=problem, body_text="hi")
    assert (
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.ticket_id.in_([t.id for t in incidents]))
        ).all()
        == []
    )


def test_unlinked_tickets_are_no_incidents(session, agent, outage):
    problem, _ = outage
    assert problems.incidents_of(session, actor=agent("alice"), problem=problem) == []
