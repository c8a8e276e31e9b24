"""Service levels chosen by rules (issue 14): which rule wins, what a rule change recomputes.

The order a ticket's level is found in: its own, the first matching active rule by position,
its service's, its company's, its queue's (``desk.sla.service.applied``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from core.db import utcnow
from core.errors import NotFound, PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.audit.models import AuditEntry
from desk.customer.models import CustomerCompany
from desk.history.models import History
from desk.sla import rules
from desk.sla import service as sla
from desk.ticket.models import TicketType
from flows import escalation, state, ticket_fields
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from tests.query_count import count_statements, page_statements


@pytest.fixture
def admin(agent):
    return agent("admin")


@pytest.fixture
def levels(session, admin, queue):
    """Gold on the queue 1st level (an hour), Platinum (15 minutes) and Silver (30) for rules."""
    made = {
        name: sla.create_level(
            session,
            actor=admin,
            name=name,
            first_response_minutes=minutes,
            solution_minutes=8 * 60,
            notify_before_percent=50,
        )
        for name, minutes in (("Gold", 60), ("Platinum", 15), ("Silver", 30))
    }
    queue("1st level").service_level_id = made["Gold"].id
    session.flush()
    return made


def acme(session) -> CustomerCompany:
    return session.scalars(select(CustomerCompany).where(CustomerCompany.customer_id == "ACME")).one()


def new_ticket(
    session,
    queue,
    customer,
    *,
    where="1st level",
    who="john.doe@acme.example",
    priority=3,
    channel="email",
    title="The printer is on fire",
):
    opened = open_ticket(
        session,
        actor=SYSTEM,
        queue=queue(where),
        title=title,
        customer_user=customer(who),
        priority=priority,
        first=ArticleDraft(
            channel=channel,
            sender_type="customer",
            visible_for_customer=True,
            subject=title,
            body_text="Smoke everywhere.",
            from_addr=who,
        ),
    )
    return opened.ticket


def level_name(session, ticket) -> str | None:
    found = sla.applied(session, ticket)
    return found.level.name if found is not None and found.level is not None else None


def test_a_rule_on_priority_and_company_wins_over_the_queues_level(session, admin, queue, customer, levels):
    rules.create_rule(
        session,
        actor=admin,
        name="ACME urgent",
        level_id=levels["Platinum"].id,
        priorities=[4, 5],
        customer_company_id=acme(session).id,
    )
    urgent = new_ticket(session, queue, customer, priority=5)
    normal = new_ticket(session, queue, customer, priority=3)
    globex = new_ticket(session, queue, customer, priority=5, who="ivan.petrov@globex.example")

    escalation.refresh(session, ticket_id=urgent.id, now=utcnow())
    escalation.refresh(session, ticket_id=normal.id, now=utcnow())
    escalation.refresh(session, ticket_id=globex.id, now=utcnow())
    assert urgent.first_response_due == urgent.created_at + timedelta(minutes=15)
    assert normal.first_response_due == normal.created_at + timedelta(minutes=60)
    assert globex.first_response_due == globex.created_at + timedelta(minutes=60)
    chosen = sla.applied(session, urgent)
    assert chosen is not None
    assert chosen.rule is not None
    assert (chosen.level.name, chosen.rule.name) == ("Platinum", "ACME urgent")


def test_the_position_decides_between_two_matching_rules(session, admin, queue, customer, levels):
    first = rules.create_rule(
        session, actor=admin, name="Priority 5", level_id=levels["Silver"].id, priorities=[5]
    )
    rules.create_rule(
        session,
        actor=admin,
        name="ACME",
        level_id=levels["Platinum"].id,
        customer_company_id=acme(session).id,
    )
    ticket = new_ticket(session, queue, customer, priority=5)
    assert level_name(session, ticket) == "Silver"
    rules.move_rule(session, actor=admin, rule_id=first.id, direction="down")
    assert [r.name for r in rules.list_rules(session)] == ["ACME", "Priority 5"]
    assert level_name(session, ticket) == "Platinum"
    rules.move_rule(session, actor=admin, rule_id=first.id, direction="down")  # already last
    assert [r.name for r in rules.list_rules(session)] == ["ACME", "Priority 5"]
    rules.move_rule(session, actor=admin, rule_id=first.id, direction="up")
    assert level_name(session, ticket) == "Silver"


def test_an_inactive_rule_and_a_rule_of_an_inactive_level_are_ignored(
    session, admin, queue, customer, levels
):
    rule = rules.create_rule(
        session, actor=admin, name="Phone calls", level_id=levels["Platinum"].id, channel="phone"
    )
    ticket = new_ticket(session, queue, customer, channel="phone")
    assert level_name(session, ticket) == "Platinum"
    rules.deactivate_rule(session, actor=admin, rule_id=rule.id)
    assert level_name(session, ticket) == "Gold"
    rules.update_rule(
        session,
        actor=admin,
        rule_id=rule.id,
        name="Phone calls",
        level_id=levels["Platinum"].id,
        channel="phone",
        valid=True,
    )
    assert level_name(session, ticket) == "Platinum"
    platinum = levels["Platinum"]
    sla.update_level(
        session,
        actor=admin,
        level_id=platinum.id,
        name="Platinum",
        calendar_id=None,
        first_response_minutes=15,
        update_minutes=0,
        solution_minutes=480,
        notify_before_percent=50,
        pause_while_pending=True,
        valid=False,
    )
    assert level_name(session, ticket) == "Gold"


def test_the_tickets_own_level_beats_every_rule(session, admin, queue, customer, levels):
    rules.create_rule(
        session,
        actor=admin,
        name="Everything in 1st level",
        level_id=levels["Platinum"].id,
        queue_id=queue("1st level").id,
    )
    ticket = new_ticket(session, queue, customer)
    assert level_name(session, ticket) == "Platinum"
    ticket.service_level_id = levels["Silver"].id
    session.flush()
    chosen = sla.applied(session, ticket)
    assert chosen is not None
    assert chosen.level is not None
    assert (chosen.level.name, chosen.rule) == ("Silver", None)


def test_queue_rules_match_sub_queues_unless_told_not_to(session, admin, queue, customer, levels):
    tennis = queue("Tennis")
    rule = rules.create_rule(
        session, actor=admin, name="Tennis", level_id=levels["Silver"].id, queue_id=tennis.id
    )
    youth = new_ticket(session, queue, customer, where="Tennis::Youth")
    top = new_ticket(session, queue, customer, where="Tennis")
    football = new_ticket(session, queue, customer, where="Football::Youth")
    assert level_name(session, youth) == "Silver"
    assert level_name(session, top) == "Silver"
    assert level_name(session, football) is None
    rules.update_rule(
        session,
        actor=admin,
        rule_id=rule.id,
        name="Tennis",
        level_id=levels["Silver"].id,
        queue_id=tennis.id,
        include_subqueues=False,
    )
    assert level_name(session, youth) is None
    assert level_name(session, top) == "Silver"


def test_the_customers_mail_domain_and_the_ticket_type(session, admin, queue, customer, levels):
    incident = session.scalars(select(TicketType).order_by(TicketType.id)).first()
    rules.create_rule(
        session,
        actor=admin,
        name="Globex incidents",
        level_id=levels["Silver"].id,
        email_domain="@Globex.Example ",
        type_ids=[incident.id],
    )
    ticket = new_ticket(session, queue, customer, who="ivan.petrov@globex.example")
    ticket.type_id = None
    session.flush()
    assert level_name(session, ticket) == "Gold"
    ticket.type_id = incident.id
    session.flush()
    assert level_name(session, ticket) == "Silver"
    assert rules.list_rules(session)[0].email_domain == "globex.example"


def test_a_new_rule_recomputes_the_open_tickets_it_matches_and_their_escalation(
    session, admin, agent, queue, customer, levels
):
    ticket = new_ticket(session, queue, customer, priority=5)
    other = new_ticket(session, queue, customer, priority=2, title="A question")
    closed = new_ticket(session, queue, customer, priority=5, title="Done")
    state.close(session, actor=SYSTEM, ticket=closed)
    ticket_fields.set_owner(session, actor=SYSTEM, ticket=ticket, owner=agent("alice"))
    for each in (ticket, other, closed):
        escalation.refresh(session, ticket_id=each.id, now=utcnow())
    assert ticket.first_response_due == ticket.created_at + timedelta(minutes=60)
    assert not {ticket.id, other.id, closed.id} & set(escalation.stale_tickets(session))

    rules.create_rule(session, actor=admin, name="Very high", level_id=levels["Platinum"].id, priorities=[5])
    session.expire_all()
    stale = set(escalation.stale_tickets(session))
    # Only the open ticket the rule matches waits for the sweep.
    assert ticket.id in stale
    assert other.id not in stale
    assert closed.id not in stale
    escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    assert ticket.first_response_due == ticket.created_at + timedelta(minutes=15)

    # Platinum's 15 minutes escalate where Gold's hour would not have yet.
    with time_machine.travel(ticket.created_at + timedelta(minutes=16), tick=False):
        told = escalation.escalate(session, ticket_id=ticket.id, now=utcnow())
    assert "first_response_breach" in told
    assert (
        "EscalationResponseTimeStart"
        in session.scalars(select(History.type).where(History.ticket_id == ticket.id)).all()
    )


def test_a_rule_change_marks_the_tickets_of_the_old_and_the_new_conditions(
    session, admin, queue, customer, levels
):
    high = new_ticket(session, queue, customer, priority=4)
    low = new_ticket(session, queue, customer, priority=1)
    rule = rules.create_rule(session, actor=admin, name="High", level_id=levels["Silver"].id, priorities=[4])
    for each in (high, low):
        escalation.refresh(session, ticket_id=each.id, now=utcnow())
    rules.update_rule(
        session,
        actor=admin,
        rule_id=rule.id,
        name="Renamed only",
        level_id=levels["Silver"].id,
        priorities=[4],
    )
    session.expire_all()
    assert not {high.id, low.id} & set(escalation.stale_tickets(session))  # a new name changes nothing
    rules.update_rule(
        session, actor=admin, rule_id=rule.id, name="Low", level_id=levels["Silver"].id, priorities=[1]
    )
    session.expire_all()
    assert {high.id, low.id} <= set(escalation.stale_tickets(session))
    escalation.refresh(session, ticket_id=high.id, now=utcnow())
    escalation.refresh(session, ticket_id=low.id, now=utcnow())
    assert high.first_response_due == high.created_at + timedelta(minutes=60)
    assert low.first_response_due == low.created_at + timedelta(minutes=30)


def test_applied_reads_the_rules_in_one_statement(session, engine, admin, queue, customer, levels):
    for number in range(1, 6):
        rules.create_rule(
            session,
            actor=admin,
            name=f"Rule {number}",
            level_id=levels["Silver"].id,
            priorities=[1],
            email_domain=f"d{number}.example",
        )
    ticket = new_ticket(session, queue, customer, priority=3)
    session.expire_all()
    ticket = session.get(type(ticket), ticket.id)
    with count_statements(engine) as statements:
        assert level_name(session, ticket) == "Gold"
    rule_reads = [s for s in page_statements(statements) if "service_level_rule" in s]
    assert len(rule_reads) == 1


def test_rules_are_checked_with_field_errors_and_audited(session, admin, agent, queue, levels):
    with pytest.raises(PermissionDenied):
        rules.create_rule(session, actor=agent("alice"), name="", level_id=None)
    with pytest.raises(ValidationError) as nothing:
        rules.create_rule(session, actor=admin, name="All", level_id=levels["Gold"].id)
    assert nothing.value.errors == {"conditions": ["a rule needs a condition"]}
    with pytest.raises(ValidationError) as bad:
        rules.create_rule(
            session,
            actor=admin,
            name=" ",
            level_id=99999,
            queue_id=99999,
            priorities=[7],
            type_ids=[99999],
            service_id=99999,
            customer_company_id=2**40,
            channel="pigeon",
            email_domain="not a domain",
        )
    assert set(bad.value.errors) == {
        "name",
        "level_id",
        "queue_id",
        "priorities",
        "type_ids",
        "service_id",
        "customer_company_id",
        "channel",
        "email_domain",
    }
    made = rules.create_rule(
        session, actor=admin, name="Finance", level_id=levels["Gold"].id, queue_id=queue("Finance").id
    )
    with pytest.raises(ValidationError) as clash:
        rules.create_rule(session, actor=admin, name="Finance", level_id=levels["Gold"].id, priorities=[1])
    assert clash.value.errors == {"name": ["a rule with this name exists"]}
    with pytest.raises(NotFound):
        rules.move_rule(session, actor=admin, rule_id=12345678, direction="up")
    rules.deactivate_rule(session, actor=admin, rule_id=made.id)
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "service_level_rule", AuditEntry.object_id == made.id)
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert '"valid": false' in entries[1].new_values
    assert made.created_by_id == admin.id


def test_a_channel_rule_marks_only_the_tickets_that_began_on_that_channel(
    session, admin, queue, customer, levels
):
    call = new_ticket(session, queue, customer, channel="phone", title="A call")
    mail = new_ticket(session, queue, customer, channel="email", title="A mail")
    for each in (call, mail):
        escalation.refresh(session, ticket_id=each.id, now=utcnow())
    rules.create_rule(session, actor=admin, name="Calls", level_id=levels["Silver"].id, channel="phone")
    session.expire_all()
    stale = set(escalation.stale_tickets(session))
    assert call.id in stale
    assert mail.id not in stale
