"""Errors that name something (a queue, a state, an address) are shown in the reader's language.

Their msgids carry named placeholders (``core.errors.FieldMessage``), so the catalog is
asked and the names are filled in afterwards.  A translation need not exist yet: the
``german`` fixture adds one to the real German catalog as it is loaded.
"""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from core.errors import FieldMessage, ValidationError, translate
from core.i18n import translator
from desk.ticket.models import State
from flows import ticket_fields
from tests.web.test_localized import german
from tests.web.test_ticket_actions import post_action, ticket_titled

__all__ = ["german"]


def test_a_refused_move_names_the_inactive_queue_in_the_readers_language(session, agent, queue, german):
    """The flow's error (the web offers only active queues; the API and processes may name any)."""
    german("%(queue)s is not active", "%(queue)s ist nicht aktiv")
    ticket = ticket_titled(session, "I forgot my password")
    closed_down = queue("2nd level")
    closed_down.valid = False
    session.flush()

    with pytest.raises(ValidationError) as refused:
        ticket_fields.move(session, actor=agent("admin"), ticket=ticket, queue=closed_down)

    assert refused.value.errors == {"queue": ["2nd level is not active"]}  # the API's body
    assert refused.value.translated_errors(translator("de")) == {"queue": ["2nd level ist nicht aktiv"]}


def test_a_pending_state_without_time_is_refused_in_german_with_the_state_named(
    client, login, session, agent, german
):
    german(
        "state %(state)s needs a pending-until time",
        "der Status %(state)s braucht eine Wartezeit",
    )
    ticket = ticket_titled(session, "I forgot my password")
    pending = session.scalars(select(State).where(State.name == "pending reminder")).one()
    agent("admin").language = "de"
    session.flush()
    login("admin")

    response = post_action(client, ticket, "state", state=str(pending.id))

    assert response.status_code == 422
    assert "der Status pending reminder braucht eine Wartezeit" in response.text


def test_a_field_message_is_its_english_text_and_keeps_its_msgid(german):
    german("%(address)s is a customer's address", "%(address)s ist die Adresse eines Kunden")
    message = FieldMessage("%(address)s is a customer's address", address="john@acme.example")
    assert message == "john@acme.example is a customer's address"  # the API, the CLI, the logs
    kept = copy.deepcopy(message)  # the refused form's state is copied
    assert (kept.msgid, kept.params) == (message.msgid, message.params)
    error = ValidationError("invalid recipient", errors={"to": [message, "not an e-mail address"]})
    german_text = translator("de")
    assert error.translated_errors(german_text) == {
        "to": ["john@acme.example ist die Adresse eines Kunden", "not an e-mail address"]
    }
    assert translate(message, translator("en")) == "john@acme.example is a customer's address"


def test_a_process_step_and_the_operators_reason_are_both_translated(german):
    """The engine names the failed step before the operator's own message (engine.runtime)."""
    german("step %(step)r: %(reason)s", "Schritt %(step)r: %(reason)s")
    german("there is no agent with the login %(login)r", "es gibt keinen Agenten %(login)r")
    reason = FieldMessage("there is no agent with the login %(login)r", login="bob")
    error = ValidationError("step %(step)r: %(reason)s", step="Pick a consultant", reason=reason)
    assert error.message == "step 'Pick a consultant': there is no agent with the login 'bob'"
    assert error.translated(translator("de")) == "Schritt 'Pick a consultant': es gibt keinen Agenten 'bob'"
