"""Rights before rules: a write without the right is refused (403) whatever its input says.

Every write of the desk services and the use cases is called as the read-only observer with
input that breaks a rule (empty text, a bad state, a merge into itself, a merged ticket…):
the answer is :class:`PermissionDenied`, never the validation message that would tell the
observer which rule the input broke.  The trainee (``ro``, ``note``, ``create`` on 1st level)
gets the same for a merge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.errors import PermissionDenied
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.article import reply as mail
from desk.article import service as articles
from desk.customer import service as customers
from desk.queue import service as queues
from desk.template import service as templates
from desk.ticket import service as tickets
from desk.ticket import states
from engine import definitions, runtime
from flows import forward, merge, note, open_ticket, reply, state, tasks, ticket_fields
from flows.drafts import ArticleDraft

Write = Callable[..., Any]


@pytest.fixture
def world(session, make_ticket, queue, agent, customer):
    """Two tickets of different customers, and one that was merged already."""
    first = make_ticket("1st level", title="First")
    second = make_ticket("1st level", customer_email="ivan.petrov@globex.example", title="Second")
    merged = make_ticket("1st level", title="Merged away")
    tickets.merge(session, actor=SYSTEM, ticket=merged, into=first)
    session.flush()
    return {"first": first, "second": second, "merged": merged, "queue": queue, "agent": agent}


def writes(session, w) -> dict[str, Write]:
    """Every write, each with input that breaks one of its rules."""
    first, second, merged, queue, agent = w["first"], w["second"], w["merged"], w["queue"], w["agent"]
    article = first.articles[0]
    merged_state = states.first_state_of_type(session, "merged")
    return {
        "create_ticket": lambda a: tickets.create_ticket(
            session, actor=a, title=" ", queue=queue("1st level")
        ),
        "move": lambda a: tickets.move(session, actor=a, ticket=merged, queue=queue("Raw")),
        "lock": lambda a: tickets.lock(session, actor=a, ticket=merged),
        "unlock": lambda a: tickets.unlock(session, actor=a, ticket=first),
        "set_owner": lambda a: tickets.set_owner(session, actor=a, ticket=first, owner=agent("consultant")),
        "set_responsible": lambda a: tickets.set_responsible(
            session, actor=a, ticket=first, responsible=agent("consultant")
        ),
        "set_state": lambda a: tickets.set_state(session, actor=a, ticket=first, state=merged_state),
        "set_priority": lambda a: tickets.set_priority(session, actor=a, ticket=first, priority=99),
        "set_title": lambda a: tickets.set_title(session, actor=a, ticket=merged, title=""),
        "set_customer": lambda a: tickets.set_customer(session, actor=a, ticket=merged, customer_user=None),
        "set_type": lambda a: tickets.set_type(session, actor=a, ticket=merged, ticket_type=None),
        "merge_into_itself": lambda a: tickets.merge(session, actor=a, ticket=first, into=first),
        "merge_other_customer": lambda a: tickets.merge(session, actor=a, ticket=first, into=second),
        "link": lambda a: tickets.link(session, actor=a, source=first, target=first, kind="bogus"),
        "add_article": lambda a: articles.add_article(
            session, actor=a, ticket=merged, channel="bogus", body_text=""
        ),
        "split": lambda a: articles.split(
            session, actor=a, article=merged.articles[0] if merged.articles else article
        ),
        "send_reply": lambda a: mail.send_reply(session, actor=a, ticket=second, body_text=" "),
        "forward_article": lambda a: mail.forward_article(
            session, actor=a, ticket=second, original=article, to_addr="x@example.org"
        ),
        "flow_forward": lambda a: forward.forward(session, actor=a, ticket=first, to_addr="not an address"),
        "flow_close": lambda a: state.close(
            session, actor=a, ticket=first, state=states.first_state_of_type(session, "open")
        ),
        "flow_merge": lambda a: merge.merge(session, actor=a, ticket=first, into=first),
        "flow_link": lambda a: merge.link(session, actor=a, source=first, target=first),
        "flow_note": lambda a: note.note(session, actor=a, ticket=merged, body_text=""),
        "flow_phone_note": lambda a: note.phone_note(session, actor=a, ticket=first, body_text=""),
        "flow_reply": lambda a: reply.reply(session, actor=a, ticket=second, body_text=""),
        "flow_open_ticket": lambda a: open_ticket.open_ticket(
            session,
            actor=a,
            queue=queue("1st level"),
            title="",
            first=ArticleDraft(channel="phone", body_text=""),
        ),
        "flow_set_priority": lambda a: ticket_fields.set_priority(session, actor=a, ticket=first, priority=0),
        "flow_set_title": lambda a: ticket_fields.set_title(session, actor=a, ticket=first, title=""),
        "create_agent": lambda a: agents.create_agent(session, actor=a, login="", password="x"),
        "create_group": lambda a: agents.create_group(session, actor=a, name=""),
        "set_password": lambda a: agents.set_password(session, actor=a, agent=agent("alice"), password="x"),
        "create_queue": lambda a: queues.create_queue(session, actor=a, name="", group=queue("Raw").group),
        "create_template": lambda a: templates.create_template(
            session, actor=a, name="", text="{{", kind="?"
        ),
        "create_company": lambda a: customers.create_company(session, actor=a, customer_id="", name=""),
        "create_customer_user": lambda a: customers.create_customer_user(session, actor=a, email="nope"),
    }


WRITE_NAMES = [
    "create_ticket", "move", "lock", "unlock", "set_owner", "set_responsible", "set_state",
    "set_priority", "set_title", "set_customer", "set_type", "merge_into_itself",
    "merge_other_customer", "link", "add_article", "split", "send_reply", "forward_article",
    "flow_forward", "flow_close", "flow_merge", "flow_link", "flow_note", "flow_phone_note",
    "flow_reply", "flow_open_ticket", "flow_set_priority", "flow_set_title", "create_agent",
    "create_group", "set_password", "create_queue", "create_template", "create_company",
    "create_customer_user",
]  # fmt: skip


def test_the_list_covers_every_write(session, world):
    assert sorted(writes(session, world)) == sorted(WRITE_NAMES)


@pytest.mark.parametrize("name", WRITE_NAMES)
def test_the_observer_is_refused_before_any_rule_is_checked(session, world, agent, name):
    write = writes(session, world)[name]
    with pytest.raises(PermissionDenied):
        write(agent("observer"))


@pytest.mark.parametrize("name", ["merge_into_itself", "merge_other_customer", "flow_merge", "flow_close"])
def test_the_trainee_may_not_merge_or_close_and_is_told_so_first(session, world, agent, name):
    with pytest.raises(PermissionDenied):
        writes(session, world)[name](agent("trainee"))


def test_the_observer_cannot_complete_a_task_with_invalid_data(session, world, agent):
    definitions.deploy_directory(session, actor=SYSTEM)
    instance = runtime.start(session, actor=SYSTEM, ticket=world["second"])
    task = tasks.open_tasks_of(session, instance=instance)[0]
    with pytest.raises(PermissionDenied):
        tasks.complete(session, actor=agent("observer"), task_id=task.id, data={"nonsense": object()})
