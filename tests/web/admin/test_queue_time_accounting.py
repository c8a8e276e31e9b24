"""The queue page's time-accounting policy (issue 14): saved, audited, a bad value refused."""

from __future__ import annotations

from tests.web.admin.test_queues_and_texts import _queue_form


def test_an_admin_sets_the_time_accounting_policy_of_a_queue(client, login, post_form, queue, session):
    login("admin")
    first = queue("1st level")
    url = f"/admin/queues/{first.id}"
    assert 'name="time_accounting"' in client.get(url).text
    saved = post_form(url, data=_queue_form(first, time_accounting="required"))
    assert saved.status_code == 303, saved.text
    session.expire_all()
    assert queue("1st level").time_accounting == "required"
    page = client.get(url).text
    assert '<option value="required" selected' in page

    forged = post_form(url, data=_queue_form(first, time_accounting="always"))
    assert forged.status_code == 422
    assert "must be one of off, optional, required" in forged.text
    session.expire_all()
    assert queue("1st level").time_accounting == "required"
