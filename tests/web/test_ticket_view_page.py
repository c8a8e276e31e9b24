"""The ticket page as a conversation (issue 12): the thread's order, step results in the
thread, the action toolbar with its one slot, and the process position beside it."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.article import service as articles
from desk.ticket.models import Ticket
from engine import runtime
from engine.models import HumanTask, ProcessInstance
from tests.web import test_inbox
from tests.web.conftest import csrf_token_in
from web.tickets import rendering

started = test_inbox.started  # the fixture: deployed processes, triage started

TRIAGE_MOVE = {"decision": "move", "target_queue": "2nd level"}


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def open_task(session, ticket: Ticket, name: str) -> HumanTask:
    return session.scalars(
        select(HumanTask).where(
            HumanTask.ticket_id == ticket.id, HumanTask.state == "open", HumanTask.name == name
        )
    ).one()


def thread_ids(page: str) -> list[str]:
    """The ids of the thread's entries (articles and steps), top to bottom."""
    thread = page[page.index('id="thread"') : page.index('id="history"')]
    return re.findall(r'<article id="((?:article|step)-\d+)"', thread)


def add_articles(session, ticket: Ticket) -> tuple[int, int]:
    """An internal note an hour ago and a visible phone note now: (older id, newer id)."""
    older = articles.add_article(
        session, actor=SYSTEM, ticket=ticket, channel="note", subject="Older note", body_text="checked"
    )
    older.created_at = datetime.now(UTC) - timedelta(hours=1)
    newer = articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="phone",
        visible_for_customer=True,
        subject="Newer call",
        body_text="called",
    )
    session.flush()
    return older.id, newer.id


# --- the thread --------------------------------------------------------------------------


def test_the_thread_order_toggles_and_is_remembered_for_the_agent(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    older, newer = add_articles(session, ticket)
    login("secretary")

    first = thread_ids(client.get(f"/tickets/{ticket.id}").text)
    assert first.index(f"article-{older}") < first.index(f"article-{newer}")  # oldest first by default

    newest = client.get(f"/tickets/{ticket.id}?order=newest").text
    ids = thread_ids(newest)
    assert ids.index(f"article-{newer}") < ids.index(f"article-{older}")
    assert re.search(r'data-thread-order="newest" aria-current="true"', newest)

    # The next visit, without asking, keeps the agent's choice ...
    again = thread_ids(client.get(f"/tickets/{ticket.id}").text)
    assert again.index(f"article-{newer}") < again.index(f"article-{older}")
    # ... until they switch back.
    back = thread_ids(client.get(f"/tickets/{ticket.id}?order=oldest").text)
    assert back.index(f"article-{older}") < back.index(f"article-{newer}")
    assert thread_ids(client.get(f"/tickets/{ticket.id}").text) == back


def test_internal_and_customer_visible_entries_carry_their_band_and_label(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    older, newer = add_articles(session, ticket)
    login("secretary")

    page = client.get(f"/tickets/{ticket.id}").text

    internal = re.search(rf'<article id="article-{older}" class="([^"]*)".*?</header>', page, re.S)
    visible = re.search(rf'<article id="article-{newer}" class="([^"]*)".*?</header>', page, re.S)
    assert internal
    assert "article--internal" in internal.group(1)
    assert 'badge--internal">Internal<' in internal.group(0)
    assert visible
    assert "article--visible" in visible.group(1)
    assert 'badge--visible">Visible to the customer<' in visible.group(0)


def test_a_completed_step_is_a_readable_entry_in_the_thread(client, login, session, started):
    ticket = started["I forgot my password"]
    triage = open_task(session, ticket, "Triage")
    runtime.complete_task(session, actor=SYSTEM, task_id=triage.id, data=TRIAGE_MOVE)
    session.flush()
    login("admin")

    page = client.get(f"/tickets/{ticket.id}").text

    step = re.search(rf'<article id="step-{triage.id}".*?</article>', page, re.S)
    assert step is not None
    entry = html_lib.unescape(step.group(0))
    assert "Step completed" in entry
    assert "Triage" in entry
    # Field titles with readable values: the choice's title, not its raw value, no JSON.
    assert re.search(r"<dt>Decision</dt><dd>Move it to another queue</dd>", entry)
    assert re.search(r"<dt>Target queue</dt><dd>2nd level</dd>", entry)
    assert "{" not in entry
    assert "decision" not in entry
    assert "Completed by the system" in entry
    # In the thread between the articles, by time: the step came after the customer's mail.
    ids = thread_ids(page)
    assert ids.index(f"step-{triage.id}") > 0


def test_html_quotes_are_collapsed(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        body_text="Still broken.",
        body_html=(
            "<p>Still broken.</p><blockquote><p>Old text</p><blockquote>older</blockquote></blockquote>"
        ),
    )
    session.flush()
    login("secretary")

    page = client.get(f"/tickets/{ticket.id}").text

    assert re.search(r'<details class="quote"><summary>Quoted text</summary><blockquote>\s*<p>Old text', page)
    # Only the outer quote is wrapped.
    assert page.count('<details class="quote"><summary>Quoted text</summary><blockquote>') == 1


def test_collapsing_leaves_an_unbalanced_body_alone():
    body = rendering.inert_html("<p>a</p>")
    assert rendering.collapse_html_quotes(body, "Q") == body
    broken = rendering.Markup("<blockquote>x")
    assert rendering.collapse_html_quotes(broken, "Q") == broken


# --- the toolbar -------------------------------------------------------------------------


def test_the_page_has_one_slot_with_one_form_and_the_toolbar_links_work_without_script(
    client, login, session
):
    ticket = ticket_titled(session, "I forgot my password")
    login("admin")

    page = client.get(f"/tickets/{ticket.id}").text
    assert page.count('id="action-slot"') == 1
    assert page.count('<section class="action"') == 1
    assert 'id="reply-body"' in page  # the everyday action is open
    for name in ("reply", "note", "move", "owner", "state", "priority", "merge", "link"):
        # Without JavaScript a link to the page with that form; htmx fetches the form alone.
        assert f'href="/tickets/{ticket.id}?action={name}#action-slot"' in page
        assert f'hx-get="/tickets/{ticket.id}/actions/{name}"' in page

    state = client.get(f"/tickets/{ticket.id}?action=state").text
    assert state.count('<section class="action"') == 1
    assert 'id="state-select"' in state
    assert 'id="reply-body"' not in state
    assert re.search(
        r'class="button action-toolbar__button is-open"[^>]*data-action="state"[^>]*aria-current="true"',
        state,
    )


def test_the_fragment_endpoint_returns_only_that_form(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("admin")

    response = client.get(f"/tickets/{ticket.id}/actions/move")

    assert response.status_code == 200
    fragment = response.text
    assert "<html" not in fragment
    assert "<body" not in fragment
    assert fragment.count('<section class="action"') == 1
    assert 'id="move-queue"' in fragment
    assert "2nd level" in fragment  # a queue to move to
    assert 'id="reply-body"' not in fragment
    assert 'id="action-slot"' not in fragment
    # The form posts as without JavaScript, with its CSRF token.
    assert f'action="/tickets/{ticket.id}/move"' in fragment
    assert csrf_token_in(fragment)


@pytest.mark.parametrize("name", ["nonsense", "unlock", "responsible"])
def test_a_fragment_that_is_no_toolbar_action_is_not_found(client, login, session, name):
    ticket = ticket_titled(session, "I forgot my password")
    login("admin")
    assert client.get(f"/tickets/{ticket.id}/actions/{name}").status_code == 404


def test_the_observer_gets_no_toolbar_and_no_fragment(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("observer")

    assert 'id="action-slot"' not in client.get(f"/tickets/{ticket.id}").text
    assert client.get(f"/tickets/{ticket.id}/actions/note").status_code == 404
    assert client.get(f"/tickets/{2**31}/actions/note").status_code == 404


# --- the process position ----------------------------------------------------------------


def test_the_diagram_gets_the_completed_path_and_the_current_position(client, login, session, started):
    ticket = started["I forgot my password"]
    triage = open_task(session, ticket, "Triage")
    runtime.complete_task(session, actor=SYSTEM, task_id=triage.id, data=TRIAGE_MOVE)
    session.flush()
    work = open_task(session, ticket, "Work")
    login("admin")

    page = client.get(f"/tickets/{ticket.id}").text

    completed = re.search(r'data-completed="([^"]*)"', page)
    current = re.search(r'data-current="([^"]*)"', page)
    assert completed
    assert current
    assert triage.bpmn_id in completed.group(1).split()
    assert work.bpmn_id in current.group(1).split()
    assert work.bpmn_id not in completed.group(1).split()
    assert f'<li data-bpmn-id="{work.bpmn_id}">Work</li>' in page


def test_inside_an_active_call_activity_its_current_step_is_named(client, login, session, started):
    ticket = started["I forgot my password"]
    runtime.complete_task(
        session, actor=SYSTEM, task_id=open_task(session, ticket, "Triage").id, data=TRIAGE_MOVE
    )
    work = open_task(session, ticket, "Work")
    runtime.complete_task(
        session,
        actor=SYSTEM,
        task_id=work.id,
        data={"action": "consult", "consultation_question": "Is this lag normal?"},
    )
    session.flush()
    consult = open_task(session, ticket, "Consult")
    login("admin")

    page = html_lib.unescape(client.get(f"/tickets/{ticket.id}").text)

    assert re.search(r'data-calls="consultation"', page)
    assert "consultation" in re.search(r'data-current="([^"]*)"', page).group(1).split()
    assert re.search(
        r'<p class="process__call" data-call-id="consultation">\s*Inside “Consultation”: Consult', page
    )
    # The called task is listed as a current step, but not marked in this diagram.
    assert consult.bpmn_id not in re.search(r'data-current="([^"]*)"', page).group(1).split()


def test_current_steps_never_mix_instances_and_a_picker_shows_the_other(client, login, session, started):
    ticket = started["I forgot my password"]
    first = runtime.instances_of(session, ticket=ticket)[-1]
    old_task = open_task(session, ticket, "Triage")
    # A second instance of another process on the same ticket, with its own open task.
    second = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="consultation")
    session.flush()
    new_tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == second.id)).all()
    assert new_tasks
    login("admin")

    page = client.get(f"/tickets/{ticket.id}").text
    steps = page[page.index("Current steps") : page.index("</section>", page.index("Current steps"))]
    # The newest running instance is shown; the other instance's task is not its position.
    assert f'data-bpmn-id="{new_tasks[0].bpmn_id}"' in steps
    assert f'data-bpmn-id="{old_task.bpmn_id}"' not in steps
    assert f'process.bpmn?instance={second.id}"' in page
    assert 'id="instance-select"' in page
    assert f'<option value="{first.id}"' in page

    older = client.get(f"/tickets/{ticket.id}?instance={first.id}").text
    steps = older[older.index("Current steps") : older.index("</section>", older.index("Current steps"))]
    assert f'data-bpmn-id="{old_task.bpmn_id}"' in steps
    assert f'data-bpmn-id="{new_tasks[0].bpmn_id}"' not in steps
    # The diagram endpoint serves each instance's own version, and only this ticket's.
    assert (
        client.get(f"/tickets/{ticket.id}/process.bpmn?instance={first.id}").text
        == first.process_version.bpmn_xml
    )
    other = started["Printer on 3rd floor jams"]
    assert client.get(f"/tickets/{other.id}/process.bpmn?instance={first.id}").status_code == 404
    assert client.get(f"/tickets/{ticket.id}/process.bpmn?instance={2**31}").status_code == 404


def test_a_version_without_diagram_layout_says_so(client, login, session, started):
    ticket = started["I forgot my password"]
    instance = session.scalars(select(ProcessInstance).where(ProcessInstance.ticket_id == ticket.id)).one()
    version = instance.process_version
    version.bpmn_xml = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", version.bpmn_xml, flags=re.S)
    session.flush()
    login("admin")

    page = client.get(f"/tickets/{ticket.id}").text

    assert "This version has no diagram layout; the diagram below is laid out automatically." in page
    # The browser lays the file out before drawing it (bpmn-auto-layout, bundled by make assets).
    diagram = page[page.index('id="process-diagram"') :]
    assert 'data-layout="auto"' in diagram[: diagram.index("</div>")]
    assert "vendor/autolayout.bundle.js" in page
    assert "Triage" in page[page.index("Current steps") :]  # the position is still named


def test_labels_come_in_the_agents_language_where_the_bpmn_has_them(client, login, session, started):
    ticket = started["I forgot my password"]
    instance = session.scalars(select(ProcessInstance).where(ProcessInstance.ticket_id == ticket.id)).one()
    version = instance.process_version
    triage = open_task(session, ticket, "Triage")
    xml = version.bpmn_xml.replace(
        "<bpmn:definitions ", '<bpmn:definitions xmlns:ticketflow="https://ticketflow.example/bpmn" ', 1
    )
    xml = re.sub(rf'(<bpmn:userTask id="{triage.bpmn_id}")', r'\1 ticketflow:name-de="Sichten"', xml, count=1)
    version.bpmn_xml = xml
    session.flush()
    login("admin")

    english = client.get(f"/tickets/{ticket.id}/process.bpmn").text
    assert 'name="Triage"' in english
    client.post("/language", data={"language": "de", "csrf_token": csrf_token_in(client.get("/inbox").text)})
    german = client.get(f"/tickets/{ticket.id}/process.bpmn").text
    assert re.search(rf'<bpmn:userTask id="{triage.bpmn_id}"[^>]*name="Sichten"', german)
    assert 'name="Triage"' not in german


def test_extension_properties_translate_labels_too():
    xml = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core">'
        '<bpmn:process id="p"><bpmn:task id="t" name="Check"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="name-hu" value="Ellenőrzés"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:task>"
        '<bpmn:task id="u" name="Other"/></bpmn:process></bpmn:definitions>'
    )
    hungarian = rendering.translated_bpmn(xml, "hu")
    assert 'id="t" name="Ellenőrzés"' in hungarian
    assert 'id="u" name="Other"' in hungarian
    assert rendering.translated_bpmn(xml, "de") == xml
    assert rendering.translated_bpmn("<not xml name-hu", "hu") == "<not xml name-hu"


def test_the_drill_down_shows_the_called_process_with_its_own_position(client, login, session, started):
    ticket = started["I forgot my password"]
    triage = open_task(session, ticket, "Triage")
    runtime.complete_task(session, actor=SYSTEM, task_id=triage.id, data=TRIAGE_MOVE)
    work = open_task(session, ticket, "Work")
    runtime.complete_task(
        session,
        actor=SYSTEM,
        task_id=work.id,
        data={"action": "consult", "consultation_question": "Is this lag normal?"},
    )
    session.flush()
    consult = open_task(session, ticket, "Consult")
    instance = runtime.instances_of(session, ticket=ticket)[-1]
    login("admin")

    page = html_lib.unescape(client.get(f"/tickets/{ticket.id}").text)
    link = f"/tickets/{ticket.id}?instance={instance.id}&called=consultation#process"
    assert f'href="{link}" data-drill-down>Show its diagram</a>' in page

    drilled = html_lib.unescape(client.get(link.split("#", maxsplit=1)[0]).text)
    url = f"/tickets/{ticket.id}/process.bpmn?instance={instance.id}&process=consultation"
    assert f'data-bpmn-url="{url}"' in drilled
    assert f'data-current="{consult.bpmn_id}"' in drilled
    assert "The diagram shows “Consultation”." in drilled
    called = client.get(url)
    assert called.status_code == 200
    assert 'id="consultation"' in called.text
    # Only a process this instance's version calls.
    assert client.get(url.replace("consultation", "donation")).status_code == 404
