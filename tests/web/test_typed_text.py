"""A refused action form comes back with what the agent typed and the error beside the field
(issue 12: "a reply refused because of a lock throws the typed text away")."""

from __future__ import annotations

import re

from desk.ticket import service as tickets
from tests.web.conftest import csrf_token_in
from tests.web.test_ticket_actions import snapshot, ticket_titled

TYPED = "Dear John, your new password is on its way.\nRegards"


def _post(client, ticket, name: str, headers=None, **data):
    page = client.get(f"/tickets/{ticket.id}").text
    return client.post(
        f"/tickets/{ticket.id}/{name}",
        data={"csrf_token": csrf_token_in(page), **data},
        headers=headers or {},
    )


def test_a_reply_refused_by_someone_elses_lock_keeps_the_typed_body(client, login, session, agent):
    ticket = ticket_titled(session, "I forgot my password")
    tickets.lock(session, actor=agent("admin"), ticket=ticket)
    session.flush()
    login("secretary")
    before = snapshot(session, ticket)

    response = _post(client, ticket, "reply", subject="Your password", body=TYPED)

    assert response.status_code == 422
    body = re.search(r'<textarea id="reply-body"[^>]*>(.*?)</textarea>', response.text, re.S)
    assert body is not None
    assert body.group(1) == TYPED.replace("\n", "\n")
    assert (
        'id="reply-subject" name="subject" type="text" maxlength="500" value="Your password"' in response.text
    )
    alert = re.search(
        r'<div class="alert alert--error" role="alert" data-refused="reply">(.*?)</div>', response.text, re.S
    )
    assert alert is not None
    assert "locked by Ada Admin" in alert.group(1)
    assert snapshot(session, ticket) == before


def test_htmx_gets_the_refused_form_alone_with_422(client, login, session, agent):
    ticket = ticket_titled(session, "I forgot my password")
    tickets.lock(session, actor=agent("admin"), ticket=ticket)
    session.flush()
    login("secretary")

    response = _post(client, ticket, "reply", headers={"HX-Request": "true"}, body=TYPED)

    assert response.status_code == 422
    assert "<html" not in response.text
    assert 'id="reply"' in response.text
    assert f">{TYPED}</textarea>" in response.text
    assert "locked by Ada Admin" in response.text


def test_an_empty_note_shows_the_error_beside_the_text_and_keeps_the_subject(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("secretary")

    response = _post(client, ticket, "note", subject="Checked the directory", body="   ")

    assert response.status_code == 422
    assert 'value="Checked the directory"' in response.text
    assert re.search(
        r'<textarea id="note-body"[^>]*aria-invalid="true" aria-describedby="note-body-error"', response.text
    )
    assert re.search(r'<p class="field__error" id="note-body-error">[^<]*required', response.text)


def test_a_forged_move_target_is_a_field_error(client, login, session, queue):
    ticket = ticket_titled(session, "I forgot my password")
    login("secretary")
    before = snapshot(session, ticket)

    response = _post(client, ticket, "move", queue=str(queue("Board::Treasurer").id))

    assert response.status_code == 422
    assert re.search(
        r'<p class="field__error" id="move-queue-error">choose one of the offered queues</p>', response.text
    )
    assert snapshot(session, ticket) == before


def test_an_owner_without_the_right_is_an_error_beside_the_owner_picker(client, login, session, agent):
    ticket = ticket_titled(session, "I forgot my password")
    login("admin")
    before = snapshot(session, ticket)

    response = _post(client, ticket, "owner", agent=str(agent("consultant").id))

    assert response.status_code == 422
    assert re.search(
        r'<p class="field__error" id="owner-agent-error">consultant has no owner right', response.text
    )
    assert snapshot(session, ticket) == before


def test_a_stale_version_is_a_refusal_the_form_can_show(session):
    from sqlalchemy.orm.exc import StaleDataError

    from core.errors import Conflict
    from web.tickets.taskforms import attempt_form

    def stale() -> None:
        raise StaleDataError(
            "UPDATE statement on table 'ticket' expected to update 1 row(s); 0 were matched."
        )

    result, error = attempt_form(session, stale)

    assert result is None
    assert isinstance(error, Conflict)
    assert "changed this ticket meanwhile" in error.message
