"""The queue, system address and text administration pages, as an administrator uses them."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from desk.audit import service as audit
from desk.queue.models import Queue
from desk.template.models import AutoResponse, StandardTemplate, TextVariant
from tests.web.conftest import csrf_token_in


def _queue_form(queue, **changes: str) -> dict[str, str]:
    form = {
        "name": queue.short_name,
        "parent_id": str(queue.parent_id or ""),
        "group_id": str(queue.group_id),
        "system_address": queue.system_address or "",
        "display_name": queue.display_name or "",
        "follow_up_policy": queue.follow_up_policy,
        "unlock_timeout_minutes": str(queue.unlock_timeout_minutes),
        "salutation_id": str(queue.salutation_id or ""),
        "signature_id": str(queue.signature_id or ""),
        "process_id": "",
        "valid": "on",
    }
    if queue.customer_facing:
        form["customer_facing"] = "on"
    form.update(changes)
    return form


def test_the_queue_tree_lists_every_queue_with_where_it_sends_from(client, login):
    login("admin")
    page = client.get("/admin/queues")
    assert page.status_code == 200
    assert "Treasurer" in page.text
    assert "Board::Treasurer" in page.text
    assert "treasurer@sportclub.example" in page.text


def test_an_admin_creates_a_sub_queue_with_a_reject_policy_and_its_reject_text(
    client, login, post_form, queue, session
):
    login("admin")
    board = queue("Board")
    response = post_form(
        "/admin/queues/new",
        data={
            "name": "Sponsoring",
            "parent_id": str(board.id),
            "group_id": str(board.group_id),
            "system_address": "Sponsors@SportClub.example",
            "display_name": "Club Sponsoring",
            "follow_up_policy": "reject",
            "unlock_timeout_minutes": "15",
            "process_id": "",
            "reject_subject": "Closed",
            "reject_text": "Ticket {{ ticket.number }} is closed.",
            "valid": "on",
        },
    )
    assert response.status_code == 303, response.text
    created = session.scalars(select(Queue).where(Queue.name == "Board::Sponsoring")).one()
    assert (created.system_address, created.display_name, created.follow_up_policy) == (
        "sponsors@sportclub.example",
        "Club Sponsoring",
        "reject",
    )
    reject = session.scalars(
        select(AutoResponse).where(AutoResponse.queue_id == created.id, AutoResponse.kind == "reject")
    ).one()
    assert reject.text == "Ticket {{ ticket.number }} is closed."
    edit = client.get(response.headers["Location"]).text
    assert "Club Sponsoring &lt;sponsors@sportclub.example&gt;" in edit
    assert "Changes" in edit
    assert "follow_up_policy" in edit
    # The reject answer's creation is listed with the queue's changes.
    assert "Board::Sponsoring: reject" in edit


def test_bad_queue_input_is_422_with_errors_at_the_fields_and_the_values_kept(
    client, login, post_form, queue
):
    login("admin")
    raw = queue("Raw")
    response = post_form(
        "/admin/queues/new",
        data={
            "name": "Typo queue",
            "group_id": str(raw.group_id),
            "system_address": "finance@helpdesk.example",
            "follow_up_policy": "reject",
            "unlock_timeout_minutes": "many",
        },
    )
    assert response.status_code == 422
    assert 'id="queue-unlock_timeout_minutes-error"' in response.text
    assert 'value="Typo queue"' in response.text
    response = post_form(
        "/admin/queues/new",
        data={
            "name": "Typo queue",
            "group_id": str(raw.group_id),
            "system_address": "finance@helpdesk.example",
            "follow_up_policy": "reopen",
            "unlock_timeout_minutes": "0",
        },
    )
    assert response.status_code == 422
    assert re.search(r'id="queue-system_address-error">[^<]*Finance', response.text)
    assert 'value="finance@helpdesk.example"' in response.text


def test_renaming_a_queue_in_the_page_renames_its_children(client, login, post_form, queue, session):
    login("admin")
    football = queue("Football")
    url = f"/admin/queues/{football.id}"
    response = post_form(url, data=_queue_form(football, name="Soccer"))
    assert response.status_code == 303, response.text
    session.expire_all()
    names = sorted(q.name for q in session.scalars(select(Queue).where(Queue.name.like("Soccer%"))))
    assert names == ["Soccer", "Soccer::Seniors", "Soccer::Youth"]
    assert "Football" in client.get(url).text  # the audit trail keeps the old name


def test_the_addresses_page_says_what_each_queue_sends_as(client, login, post_form, queue):
    login("admin")
    raw = queue("Raw")
    post_form(f"/admin/queues/{raw.id}", data=_queue_form(raw, display_name="Acme Support"))
    page = client.get("/admin/addresses").text
    assert "support@helpdesk.example" in page
    assert "Acme Support" in page


def test_an_admin_creates_a_template_with_a_file_for_queues(client, login, queue, session):
    login("admin")
    first, second = queue("1st level"), queue("2nd level")
    page = client.get("/admin/texts/templates/new")
    response = client.post(
        "/admin/texts/templates/new",
        data={
            "csrf_token": csrf_token_in(page.text),
            "name": "VPN set-up",
            "kind": "answer",
            "text": "Hello {{ customer.first_name }}, the guide for {{ ticket.number }} is attached.",
            "queue_ids": [str(first.id), str(second.id)],
            "valid": "on",
            "attachments": (io.BytesIO(b"%PDF-1.4 vpn"), "vpn-guide.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.text
    template = session.scalars(select(StandardTemplate).where(StandardTemplate.name == "VPN set-up")).one()
    assert sorted(q.name for q in template.queues) == ["1st level", "2nd level"]
    assert [a.filename for a in template.attachments] == ["vpn-guide.pdf"]
    listing = client.get("/admin/texts").text
    assert "VPN set-up" in listing
    assert "vpn-guide.pdf" in listing


def test_a_broken_template_is_422_with_the_text_kept(client, login, post_form):
    login("admin")
    response = post_form(
        "/admin/texts/templates/new",
        data={"name": "Broken", "kind": "answer", "text": "Hello {{ customer.first_name"},
    )
    assert response.status_code == 422
    assert 'id="template-text-error"' in response.text
    assert "Hello {{ customer.first_name</textarea>" in response.text


def test_the_preview_fills_the_text_in_for_the_chosen_ticket(client, login, session):
    from desk.ticket.models import Ticket

    login("admin")
    ticket = session.scalars(select(Ticket).where(Ticket.customer_user_id.is_not(None)).limit(1)).one()
    page = client.get("/admin/texts/templates/new")
    response = client.post(
        "/admin/texts/preview",
        data={
            "text": "Ticket {{ ticket.number }} for {{ customer.email }}",
            "preview_ticket_id": str(ticket.id),
        },
        headers={"X-CSRFToken": csrf_token_in(page.text), "HX-Request": "true"},
    )
    assert response.status_code == 200
    assert f"Ticket {ticket.number} for {ticket.customer_user.email}" in response.text
    broken = client.post(
        "/admin/texts/preview",
        data={"text": "{{ nothing.here }}", "preview_ticket_id": str(ticket.id)},
        headers={"X-CSRFToken": csrf_token_in(page.text)},
    )
    assert "nothing" in broken.text
    assert 'role="alert"' in broken.text


def test_translations_are_saved_per_language_and_an_empty_one_falls_back(client, login, post_form, session):
    login("admin")
    template = session.scalars(select(StandardTemplate).limit(1)).first()
    if template is None:
        from desk.actor import SYSTEM
        from desk.template import service

        template = service.create_template(session, actor=SYSTEM, name="Thanks", text="Thanks.")
    url = f"/admin/texts/template/{template.id}/variants"
    response = post_form(url, data={"variant_de": "Danke.", "variant_hu": "Köszönöm.", "variant_ru": ""})
    assert response.status_code == 303, response.text
    rows = session.scalars(
        select(TextVariant).where(TextVariant.owner_type == "template", TextVariant.owner_id == template.id)
    ).all()
    assert sorted((r.language, r.text) for r in rows) == [("de", "Danke."), ("hu", "Köszönöm.")]
    assert [e.action for e in audit.entries_for(session, object_type="template", object_id=template.id)][
        :2
    ] == [
        "variant_hu",
        "variant_de",
    ]


def test_several_templates_get_several_queues_at_once(client, login, post_form, queue, session):
    from desk.actor import SYSTEM
    from desk.template import service

    login("admin")
    one = service.create_template(session, actor=SYSTEM, name="One", text="1")
    two = service.create_template(session, actor=SYSTEM, name="Two", text="2", queues=[queue("Raw")])
    response = post_form(
        "/admin/texts",
        "/admin/texts/bulk",
        data={"template_ids": [str(one.id), str(two.id)], "queue_ids": [str(queue("Finance").id)]},
    )
    assert response.status_code == 303, response.text
    session.expire_all()
    assert sorted(q.name for q in one.queues) == ["Finance"]
    assert sorted(q.name for q in two.queues) == ["Finance", "Raw"]
    nothing = post_form("/admin/texts", "/admin/texts/bulk", data={"queue_ids": [str(queue("Finance").id)]})
    assert nothing.status_code == 422
    assert "choose at least one template" in nothing.text


def test_a_salutation_is_edited_and_its_change_listed(client, login, post_form, session):
    from desk.template.models import Salutation

    login("admin")
    salutation = session.scalars(select(Salutation).limit(1)).one()
    url = f"/admin/texts/salutation/{salutation.id}"
    response = post_form(
        url, data={"name": salutation.name, "text": "Hello {{ customer.first_name }},", "valid": "on"}
    )
    assert response.status_code == 303
    page = client.get(url).text
    assert "Hello {{ customer.first_name }}," in page
    assert "Changes" in page


def test_an_agent_who_is_no_administrator_gets_403(client, login, queue):
    login("alice")
    assert client.get("/admin/queues").status_code == 403
    assert client.get(f"/admin/queues/{queue('Raw').id}").status_code == 403
    assert client.get("/admin/texts").status_code == 403


# --- states and types ----------------------------------------------------------------------------


def test_an_admin_adds_a_state_within_a_type_and_renames_it(client, login, post_form, session):
    from desk.ticket.models import State

    login("admin")
    response = post_form("/admin/states", data={"name": "waiting for parts", "type": "pending_reminder"})
    assert response.status_code == 303, response.text
    state = session.scalars(select(State).where(State.name == "waiting for parts")).one()
    assert state.type == "pending_reminder"
    url = f"/admin/states/{state.id}"
    assert post_form(url, data={"name": "waiting for spare parts", "valid": "on"}).status_code == 303
    session.expire_all()
    assert (state.name, state.type) == ("waiting for spare parts", "pending_reminder")
    page = client.get(url).text
    assert "waiting for parts" in page
    assert "Changes" in page


def test_the_last_state_of_a_type_stays_active(client, login, post_form, session):
    from desk.ticket.models import State

    login("admin")
    new = session.scalars(select(State).where(State.type == "new")).one()
    response = post_form(f"/admin/states/{new.id}", data={"name": new.name})
    assert response.status_code == 422
    assert 'id="state-valid-error"' in response.text
    session.expire_all()
    assert new.valid is True


def test_a_state_without_a_name_or_type_is_422(client, login, post_form):
    login("admin")
    response = post_form("/admin/states", data={"name": "", "type": "sideways"})
    assert response.status_code == 422
    assert 'id="state-name-error"' in response.text
    assert 'id="state-type-error"' in response.text


def test_ticket_types_are_added_renamed_and_switched_off(client, login, post_form, session):
    from desk.ticket.models import TicketType

    login("admin")
    assert post_form("/admin/states", "/admin/types", data={"type_name": "Change request"}).status_code == 303
    ticket_type = session.scalars(select(TicketType).where(TicketType.name == "Change request")).one()
    response = post_form(f"/admin/types/{ticket_type.id}", data={"type_name": "Change"})
    assert response.status_code == 303
    session.expire_all()
    assert (ticket_type.name, ticket_type.valid) == ("Change", False)
    assert "Change request" in client.get(f"/admin/types/{ticket_type.id}").text


def test_priorities_get_names_that_the_ticket_page_shows(client, login, post_form, session):
    from desk.ticket.models import Ticket

    login("admin")
    response = post_form("/admin/states", "/admin/priorities", data={"priority_5": "Board emergency"})
    assert response.status_code == 303, response.text
    ticket = session.scalars(select(Ticket).order_by(Ticket.id).limit(1)).one()
    ticket.priority = 5
    session.flush()
    assert "5 Board emergency" in client.get(f"/tickets/{ticket.id}").text
    assert post_form("/admin/states", "/admin/priorities", data={"priority_5": ""}).status_code == 303
    assert "5 very high" in client.get(f"/tickets/{ticket.id}").text


HUGE = str(2**31)  # beyond the database's 32-bit ids


def test_ids_no_row_can_have_are_not_found_never_a_server_error(client, login, post_form, queue):
    login("admin")
    for url in (
        f"/admin/queues/{HUGE}",
        f"/admin/texts/templates/{HUGE}",
        f"/admin/texts/salutation/{HUGE}",
        f"/admin/texts/auto_response/{HUGE}/variants",
        f"/admin/states/{HUGE}",
        f"/admin/types/{HUGE}",
    ):
        assert client.get(url).status_code == 404, url
    raw = queue("Raw")
    refused = post_form(
        f"/admin/queues/{raw.id}",
        data=_queue_form(raw, group_id=HUGE, parent_id=HUGE, salutation_id=HUGE, unlock_timeout_minutes=HUGE),
    )
    assert refused.status_code == 422
    for field in ("group_id", "parent_id", "salutation_id"):
        assert f'id="queue-{field}-error"' in refused.text
    too_long = post_form(f"/admin/queues/{raw.id}", data=_queue_form(raw, unlock_timeout_minutes=HUGE))
    assert too_long.status_code == 422
    assert 'id="queue-unlock_timeout_minutes-error"' in too_long.text
    preview = post_form(
        "/admin/texts/templates/new", "/admin/texts/preview", data={"preview_ticket_id": HUGE}
    )
    assert "Choose a ticket" in preview.text
    bulk = post_form("/admin/texts", "/admin/texts/bulk", data={"template_ids": [HUGE], "queue_ids": [HUGE]})
    assert bulk.status_code == 422
