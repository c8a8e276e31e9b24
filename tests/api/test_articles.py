"""Articles and attachments through the API."""

from __future__ import annotations

import io

from tests.api.conftest import assert_error


def test_notes_and_replies_follow_the_article_rules(api_as, new_ticket):
    ticket = new_ticket("1st level")
    trainee, alice = api_as("trainee"), api_as("alice")
    note = trainee.post(f"/tickets/{ticket.id}/articles", json={"kind": "note", "body": "Checked the cable."})
    assert note.status_code == 201
    assert note.get_json()["is_visible_for_customer"] is False
    # A trainee holds note but not rw: nothing visible to the customer.
    assert_error(trainee.post(f"/tickets/{ticket.id}/articles", json={"kind": "reply", "body": "Hi"}), 403)
    assert_error(
        trainee.post(
            f"/tickets/{ticket.id}/articles", json={"kind": "note", "body": "x", "visible_for_customer": True}
        ),
        403,
    )
    reply = alice.post(
        f"/tickets/{ticket.id}/articles", json={"kind": "reply", "body": "Please restart.", "subject": "Re"}
    )
    assert reply.status_code == 201
    body = reply.get_json()
    assert (body["channel"], body["is_visible_for_customer"], body["to_addr"]) == (
        "email",
        True,
        "john.doe@acme.example",
    )
    assert alice.get(f"/tickets/{ticket.id}").get_json()["locked_by"] == "alice"  # auto-lock on answer
    listed = alice.get(f"/tickets/{ticket.id}/articles").get_json()
    assert [a["channel"] for a in listed] == ["note", "email"]


def test_the_consultant_may_not_write_to_customers(api_as, new_ticket, session, agent, queue):
    from desk.actor import SYSTEM
    from desk.agent import service as agents

    ticket = new_ticket("1st level")
    consultant = agent("consultant")
    agents.grant_group(
        session, actor=SYSTEM, agent=consultant, group=queue("1st level").group, permissions=["rw"]
    )
    session.flush()
    assert_error(
        api_as("consultant").post(f"/tickets/{ticket.id}/articles", json={"kind": "reply", "body": "x"}), 403
    )


def test_upload_with_an_article_and_separately_and_download_safely(admin_api, new_ticket):
    ticket = new_ticket()
    with_article = admin_api.post(
        f"/tickets/{ticket.id}/articles/upload",
        data={"body": "Log attached", "files": [(io.BytesIO(b"line 1\n"), "log.txt", "text/plain")]},
        content_type="multipart/form-data",
    )
    assert with_article.status_code == 201, with_article.text
    assert [a["filename"] for a in with_article.get_json()["attachments"]] == ["log.txt"]

    nasty = "évil; name=x.html"
    alone = admin_api.post(
        f"/tickets/{ticket.id}/attachments",
        data={"files": [(io.BytesIO(b"<script>alert(1)</script>"), nasty, "text/html")]},
        content_type="multipart/form-data",
    )
    assert alone.status_code == 201, alone.text
    article = alone.get_json()
    assert article["channel"] == "note"
    assert article["is_visible_for_customer"] is False
    attachment = article["attachments"][0]
    assert admin_api.get(f"/attachments/{attachment['id']}").get_json()["size"] == 25
    download = admin_api.get(f"/attachments/{attachment['id']}/content")
    assert download.data == b"<script>alert(1)</script>"
    assert download.mimetype == "application/octet-stream"  # never rendered as HTML
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert disposition.count('"') == 2
    assert 'filename="_vil_ name=x.html"' in disposition
    assert "filename*=UTF-8''%C3%A9vil" in disposition


def test_attachments_of_unreadable_tickets_are_refused(admin_api, api_as, new_ticket):
    ticket = new_ticket("Finance")
    uploaded = admin_api.post(
        f"/tickets/{ticket.id}/attachments",
        data={"files": [(io.BytesIO(b"secret"), "salaries.csv")]},
        content_type="multipart/form-data",
    )
    attachment_id = uploaded.get_json()["attachments"][0]["id"]
    assert_error(api_as("alice").get(f"/attachments/{attachment_id}/content"), 403)
    assert_error(
        admin_api.post(f"/tickets/{ticket.id}/attachments", data={}, content_type="multipart/form-data"), 422
    )
