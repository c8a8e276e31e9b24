"""S11 in Chromium: an administrator pulls bob into 1st level for ten minutes; bob's inbox
shows the queue's task at once and no longer after the expiry (time-machine); an agent who
switched to "away" in the header is not offered as consultant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import session_scope, utcnow
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent, Role
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.team import service as teams
from desk.ticket import service as tickets
from engine import runtime
from engine.models import HumanTask
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(e2e_factory):
    """A 1st-level ticket waiting for Triage, a 2nd-level one at Work for bob, and an extra
    consultant "expert" with a password."""
    with session_scope(e2e_factory) as session:
        john = session.scalars(
            select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
        ).one()
        first_level = session.scalars(select(Queue).where(Queue.name == "1st level")).one()
        triage = tickets.create_ticket(
            session, actor=SYSTEM, title="Overload triage ticket", queue=first_level, customer_user=john
        )
        runtime.start(session, actor=SYSTEM, ticket=triage)
        work = tickets.create_ticket(
            session, actor=SYSTEM, title="Bob works on this", queue=first_level, customer_user=john
        )
        instance = runtime.start(session, actor=SYSTEM, ticket=work)
        task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
        runtime.complete_task(
            session, actor=SYSTEM, task_id=task.id, data={"decision": "move", "target_queue": "2nd level"}
        )
        expert = agents.create_agent(
            session,
            actor=SYSTEM,
            login="expert",
            password="expert-pass-123",
            first_name="Erin",
            last_name="Expert",
        )
        role = session.scalars(select(Role).where(Role.name == "consultant")).one()
        agents.add_role(session, actor=SYSTEM, agent=expert, role=role)
        return {"triage": (triage.id, triage.number), "work": work.id}


def test_pulled_in_for_ten_minutes(browser, live_server, e2e_factory, setup, time_machine):
    time_machine.move_to(utcnow(), tick=True)
    _, number = setup["triage"]
    admin = browser.new_context(locale="en-US").new_page()
    bob = browser.new_context(locale="en-US").new_page()
    sign_in(bob, live_server, "bob")
    bob.goto(f"{live_server}/inbox")
    assert number not in bob.content()

    sign_in(admin, live_server, "admin")
    admin.goto(f"{live_server}/admin/teams")
    admin.get_by_label("Agent", exact=True).select_option(label="Bob Second (bob)")
    admin.get_by_label("Queue", exact=True).select_option(label="1st level")
    admin.get_by_label("For how many minutes").fill("10")
    admin.get_by_role("button", name="Pull in").click()
    admin.locator("[data-memberships] [data-status]", has_text="active").first.wait_for()
    screenshot(admin, "teams-pulled-in")

    bob.goto(f"{live_server}/inbox")
    assert number in bob.content()

    time_machine.shift(timedelta(minutes=11))
    bob.goto(f"{live_server}/inbox")
    assert number not in bob.content()
    with session_scope(e2e_factory) as session:
        assert len(teams.expire_memberships(session)) == 1
    admin.goto(f"{live_server}/admin/teams")
    assert "the time is up" in admin.content()
    admin.context.close()
    bob.context.close()


def test_an_away_agent_is_not_offered_as_consultant(browser, live_server, e2e_factory, setup):
    expert = browser.new_context(locale="en-US").new_page()
    sign_in(expert, live_server, "expert", "expert-pass-123")
    expert.get_by_label("Availability").select_option("away")
    expert.get_by_role("button", name="Set", exact=True).click()
    expert.locator('form[data-availability="away"]').wait_for()

    bob = browser.new_context(locale="en-US").new_page()
    sign_in(bob, live_server, "bob")
    bob.goto(f"{live_server}/tickets/{setup['work']}")
    offered = bob.locator("datalist[data-agents-role=consultant] option")
    logins = [offered.nth(i).get_attribute("value") for i in range(offered.count())]
    assert "consultant" in logins
    assert "expert" not in logins
    screenshot(bob, "teams-consultant-offer")
    with session_scope(e2e_factory) as session:
        found = session.scalars(select(Agent).where(Agent.login == "expert")).one()
        assert teams.is_away(session, agent=found)
    expert.context.close()
    bob.context.close()
