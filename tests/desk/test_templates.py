"""Standard templates fill in ticket, customer and agent variables, and nothing else."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.template import service as templates
from desk.ticket import service as tickets


@pytest.fixture
def ticket(session, queue, customer):
    return tickets.create_ticket(
        session,
        actor=SYSTEM,
        title="I forgot my password",
        queue=queue("1st level"),
        customer_user=customer("john.doe@acme.example"),
    )


def test_answer_has_salutation_template_and_signature_filled_in(session, agent, ticket):
    faq = next(
        t for t in templates.templates_for_queue(session, queue=ticket.queue) if t.name == "Password reset"
    )
    text = templates.compose_answer(session, ticket=ticket, agent=agent("alice"), template=faq)
    assert text.startswith("Dear John Doe,")
    assert f"your ticket {ticket.number}:" in text
    assert text.endswith("Kind regards,\nAlice First\nIT Help Desk")


def test_templates_are_offered_only_in_their_queues(session, queue):
    assert [t.name for t in templates.templates_for_queue(session, queue=queue("Raw"))] == ["Password reset"]
    assert templates.templates_for_queue(session, queue=queue("Finance")) == []


@pytest.mark.parametrize(
    "hostile",
    [
        "{{ ticket.__class__.__mro__ }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_a_template_cannot_reach_python_internals(ticket, agent, hostile):
    context = templates.template_context(ticket, agent("alice"))
    with pytest.raises(ValidationError):
        templates.render(hostile, context)


def test_unknown_variable_and_broken_syntax_are_clear_errors(session, ticket, agent):
    context = templates.template_context(ticket, agent("alice"))
    with pytest.raises(ValidationError, match="cannot be filled in") as unknown:
        templates.render("Hello {{ customer.nickname }}", context)
    assert "nickname" in unknown.value.errors["text"][0]
    with pytest.raises(ValidationError, match="invalid template"):
        templates.create_template(session, actor=SYSTEM, name="Broken", text="{% if %}")


def test_only_administrators_create_templates(session, agent):
    with pytest.raises(PermissionDenied):
        templates.create_template(session, actor=agent("alice"), name="Mine", text="Hi")
    created = templates.create_template(
        session, actor=agent("admin"), name="Admin's", text="Hi {{ ticket.number }}"
    )
    assert created.kind == "answer"
