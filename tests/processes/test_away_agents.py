"""S11: an agent who is away is not named for new tasks and not offered as consultant."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import utcnow
from core.errors import ValidationError
from desk.actor import SYSTEM
from desk.team import service as teams
from desk.ticket.models import Ticket
from engine.registry import Candidates
from processes import lanes
from tests.processes.support import complete, new_agent, one_task


@pytest.fixture
def at_work(session, agent, start_process):
    instance = start_process()
    complete(session, agent("secretary"), instance, "Triage", decision="move", target_queue="2nd level")
    return instance


def test_an_away_consultant_cannot_be_named_and_is_not_offered(session, agent, at_work):
    expert = new_agent(session, "expert", roles=["consultant"])
    teams.set_availability(session, actor=expert, agent=expert, status="away")
    with pytest.raises(ValidationError) as refused:
        complete(session, agent("bob"), at_work, "Work", action="consult", consultant="expert")
    assert refused.value.message.startswith("expert is away; agents who could: consultant")
    assert "expert" not in refused.value.message.split("could:", 1)[1]
    # Nothing changed: the Work task is still open for bob.
    assert one_task(session, at_work, "Work").name == "Work"


def test_back_from_away_the_consultant_can_be_named_again(session, agent, at_work):
    expert = new_agent(session, "expert", roles=["consultant"])
    teams.set_availability(session, actor=expert, agent=expert, status="away")
    teams.set_availability(session, actor=expert, agent=expert, status="front_line")
    complete(session, agent("bob"), at_work, "Work", action="consult", consultant="expert")
    assert one_task(session, at_work, "Consult").candidate_agent_id == expert.id


def test_away_until_a_time_ends_by_itself(session, agent, at_work, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    expert = new_agent(session, "expert", roles=["consultant"])
    teams.set_availability(
        session, actor=expert, agent=expert, status="away", until=utcnow() + timedelta(minutes=30)
    )
    assert teams.is_away(session, agent=expert)
    time_machine.shift(timedelta(minutes=31))
    assert not teams.is_away(session, agent=expert)
    assert teams.availability_of(session, agent=expert) == ("front_line", None)
    complete(session, agent("bob"), at_work, "Work", action="consult", consultant="expert")
    assert one_task(session, at_work, "Consult").candidate_agent_id == expert.id


def test_could_do_leaves_away_agents_out(session, agent, queue):
    ticket = session.query(Ticket).filter(Ticket.queue_id == queue("Raw").id).first()
    assert ticket is not None
    before = [
        a.login
        for a in lanes.could_do(session, ticket=ticket, candidates=Candidates(queue_id=queue("Raw").id))
    ]
    assert "secretary" in before
    secretary = agent("secretary")
    teams.set_availability(session, actor=SYSTEM, agent=secretary, status="away")
    after = [
        a.login
        for a in lanes.could_do(session, ticket=ticket, candidates=Candidates(queue_id=queue("Raw").id))
    ]
    assert after == [login for login in before if login != "secretary"]
