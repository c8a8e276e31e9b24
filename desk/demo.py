"""Demo data: the IT help desk of the scenarios and the sports club of S10.

Idempotent: running it twice changes nothing the second time.  All demo logins share
:data:`DEMO_PASSWORD`, which ``make demo`` prints; it is demo data, not a secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent, Group
from desk.article import service as articles
from desk.customer import service as customers
from desk.customer.models import CustomerUser
from desk.queue import service as queues
from desk.queue.models import Queue
from desk.template import service as templates
from desk.ticket import service as tickets
from desk.ticket import states
from desk.ticket.models import Ticket, TicketType

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (printed by make demo; demo data only)

TICKET_TYPES = ("Unclassified", "Incident", "Service Request", "Problem")


@dataclass(frozen=True)
class DemoAgent:
    """An agent of the demo and what they are for."""

    login: str
    name: str
    purpose: str
    grants: dict[str, tuple[str, ...]]
    roles: tuple[str, ...] = ()
    may_contact_customers: bool = True
    read_only: bool = False


_ALL = ("rw",)
_HELPDESK_GROUPS = ("raw", "first_level", "second_level", "finance")
_CLUB_GROUPS = ("club_general", "board", "treasurer", "tennis", "football", "press", "equipment")

HELPDESK_AGENTS = (
    DemoAgent(
        "admin",
        "Ada Admin",
        "administrator: everything",
        {g: _ALL for g in ("admin", *_HELPDESK_GROUPS, *_CLUB_GROUPS)},
    ),
    DemoAgent(
        "secretary",
        "Sam Secretary",
        "triage of Raw, moves tickets on",
        {
            "raw": _ALL,
            "first_level": ("ro", "move_into", "note"),
            "second_level": ("ro", "move_into"),
            "finance": ("ro", "move_into"),
        },
    ),
    DemoAgent("alice", "Alice First", "1st level support", {"first_level": _ALL, "raw": ("ro", "move_into")}),
    DemoAgent(
        "bob", "Bob Second", "2nd level support", {"second_level": _ALL, "first_level": ("ro", "move_into")}
    ),
    DemoAgent(
        "trainee",
        "Tom Trainee",
        "learning: reads and notes in 1st level",
        {"first_level": ("ro", "note", "create")},
    ),
    DemoAgent(
        "consultant", "Conny Consultant", "expert, never writes to customers", {}, roles=("consultant",)
    ),
    DemoAgent(
        "authorizer",
        "Arthur Authorizer",
        "approves or rejects, never writes to customers",
        {},
        roles=("authorizer",),
    ),
    DemoAgent(
        "observer",
        "Olga Observer",
        "reads everything, changes nothing",
        {g: _ALL for g in _HELPDESK_GROUPS},
        read_only=True,
    ),
)

CLUB_AGENTS = (
    DemoAgent(
        "chair",
        "Clara Chair",
        "the board: follows everything",
        {"board": _ALL, **{g: ("ro", "note") for g in _CLUB_GROUPS if g != "board"}},
    ),
    DemoAgent(
        "accountant",
        "Anton Accountant",
        "sees Board::Treasurer and no other board queue",
        {"treasurer": _ALL},
    ),
    DemoAgent(
        "clubdesk",
        "Gina General",
        "the club's inbox (General)",
        {"club_general": _ALL, "equipment": ("ro", "move_into")},
    ),
    DemoAgent(
        "equipment", "Ed Equipment", "equipment manager", {"equipment": _ALL, "football": ("ro", "note")}
    ),
    DemoAgent(
        "coach",
        "Fred Football",
        "football section (with Youth and Seniors)",
        # S10 asks Football while the ticket is in Equipment, and Youth while it is in PR::Press.
        {"football": _ALL, "equipment": ("ro", "note"), "press": ("ro", "note")},
    ),
    DemoAgent(
        "press", "Petra Press", "press officer", {"press": _ALL, "tennis": ("ro",), "football": ("ro",)}
    ),
)

# queue path, group, system address
HELPDESK_QUEUES = (
    ("Raw", "raw", "support@helpdesk.example"),
    ("1st level", "first_level", None),
    ("2nd level", "second_level", None),
    ("Finance", "finance", "finance@helpdesk.example"),
)
CLUB_QUEUES = (
    ("General", "club_general", "info@sportclub.example"),
    ("Board", "board", "board@sportclub.example"),
    ("Board::Treasurer", "treasurer", "treasurer@sportclub.example"),
    ("Tennis", "tennis", None),
    ("Tennis::Youth", "tennis", None),
    ("Tennis::Seniors", "tennis", None),
    ("Football", "football", None),
    ("Football::Youth", "football", None),
    ("Football::Seniors", "football", None),
    ("PR", "press", None),
    ("PR::Press", "press", "press@sportclub.example"),
    ("Equipment", "equipment", None),
)

CUSTOMER_FACING_QUEUES = ("Raw", "Finance", "General")


def seed_reference_data(session: Session) -> None:
    """States, ticket types and the admin group: what every installation needs."""
    states.ensure_default_states(session)
    existing = set(session.scalars(select(TicketType.name)))
    for name in TICKET_TYPES:
        if name not in existing:
            session.add(TicketType(name=name))
    if session.scalar(select(Group.id).where(Group.name == "admin")) is None:
        session.add(Group(name="admin", comment="administrators"))
    session.flush()


def seed_demo(session: Session) -> None:
    """Create both demo data sets (idempotent)."""
    seed_reference_data(session)
    if session.scalar(select(Agent.id).where(Agent.login == "admin")) is not None:
        return
    groups = {g.name: g for g in session.scalars(select(Group))}
    for name in (*_HELPDESK_GROUPS, *_CLUB_GROUPS):
        groups[name] = agents.create_group(session, actor=SYSTEM, name=name)
    if "designer" not in groups:
        # rw on it opens the process designer (/designer) and allows deploys; it holds no queue.
        groups["designer"] = agents.create_group(session, actor=SYSTEM, name="designer")
    roles = {
        "consultant": agents.create_role(
            session, actor=SYSTEM, name="consultant", may_contact_customers=False
        ),
        "authorizer": agents.create_role(
            session, actor=SYSTEM, name="authorizer", may_contact_customers=False
        ),
    }
    agents.grant_role_group(
        session, actor=SYSTEM, role=roles["consultant"], group=groups["second_level"], permissions=_ALL
    )
    agents.grant_role_group(
        session,
        actor=SYSTEM,
        role=roles["consultant"],
        group=groups["first_level"],
        permissions=("ro", "note"),
    )
    for group in ("first_level", "second_level", "finance"):
        agents.grant_role_group(
            session, actor=SYSTEM, role=roles["authorizer"], group=groups[group], permissions=("ro", "note")
        )
    salutation = templates.create_salutation(
        session,
        actor=SYSTEM,
        name="Dear customer",
        text="Dear {{ customer.first_name or 'customer' }} {{ customer.last_name }},",
    )
    signature = templates.create_signature(
        session,
        actor=SYSTEM,
        name="Help desk",
        text="Kind regards,\n{{ agent.first_name }} {{ agent.last_name }}\nIT Help Desk",
    )
    created: dict[str, Queue] = {}
    for path, group, address in (*HELPDESK_QUEUES, *CLUB_QUEUES):
        created[path] = queues.create_queue(
            session, actor=SYSTEM, name=path, group=groups[group], system_address=address
        )
        created[path].salutation_id = salutation.id
        created[path].signature_id = signature.id
    created["Raw"].unlock_timeout_minutes = 0
    # What customers may open tickets in: the help desk's front doors and the club's
    # general address; the board, the treasurer and the teams stay internal (their mail
    # addresses still reach them, as in OTRS).
    for path in CUSTOMER_FACING_QUEUES:
        created[path].customer_facing = True
    created["1st level"].first_response_minutes = 60
    for spec in (*HELPDESK_AGENTS, *CLUB_AGENTS):
        first, _, last = spec.name.partition(" ")
        agent = agents.create_agent(
            session,
            actor=SYSTEM,
            login=spec.login,
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
            email=f"{spec.login}@helpdesk.example",
            may_contact_customers=spec.may_contact_customers,
            read_only=spec.read_only,
        )
        for group_name, perms in spec.grants.items():
            agents.grant_group(
                session, actor=SYSTEM, agent=agent, group=groups[group_name], permissions=perms
            )
        for role_name in spec.roles:
            agents.add_role(session, actor=SYSTEM, agent=agent, role=roles[role_name])
    _seed_customers_and_tickets(session, created)


def _seed_customers_and_tickets(session: Session, queue_by_name: dict[str, Queue]) -> None:
    acme = customers.create_company(
        session, actor=SYSTEM, customer_id="ACME", name="ACME Corp.", city="Berlin"
    )
    globex = customers.create_company(
        session, actor=SYSTEM, customer_id="GLOBEX", name="Globex", city="Budapest"
    )
    people: dict[str, CustomerUser] = {}
    for email, first, last, company in (
        ("john.doe@acme.example", "John", "Doe", acme),
        ("jane.roe@acme.example", "Jane", "Roe", acme),
        ("ivan.petrov@globex.example", "Ivan", "Petrov", globex),
        ("donor@citizen.example", "Dora", "Donor", None),
    ):
        people[email] = customers.create_customer_user(
            session,
            actor=SYSTEM,
            email=email,
            first_name=first,
            last_name=last,
            company=company,
            password=DEMO_PASSWORD,
        )
    templates.create_template(
        session,
        actor=SYSTEM,
        name="Password reset",
        text=(
            "your ticket {{ ticket.number }}: you can reset your password yourself at "
            "https://password.helpdesk.example. If that does not work, answer this mail."
        ),
        queues=[queue_by_name["Raw"], queue_by_name["1st level"]],
    )
    _demo_ticket(
        session,
        queue_by_name["Raw"],
        people["john.doe@acme.example"],
        "I forgot my password",
        "Hello, I cannot log in since this morning. John",
    )
    _demo_ticket(
        session,
        queue_by_name["Raw"],
        people["ivan.petrov@globex.example"],
        "Printer on 3rd floor jams",
        "Every second page jams. Ivan",
    )
    _demo_ticket(
        session,
        queue_by_name["Finance"],
        people["jane.roe@acme.example"],
        "Refund for double invoice",
        "We were charged twice for March. Jane",
    )
    _demo_ticket(
        session,
        queue_by_name["General"],
        people["donor@citizen.example"],
        "Donation: a basketball hoop",
        "I would like to donate a basketball hoop to the club.",
    )


def _demo_ticket(session: Session, queue: Queue, customer: CustomerUser, title: str, body: str) -> Ticket:
    ticket = tickets.create_ticket(session, actor=SYSTEM, title=title, queue=queue, customer_user=customer)
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        subject=title,
        body_text=body,
        from_addr=f"{customer.full_name} <{customer.email}>",
        to_addr=queue.system_address or "",
    )
    return ticket


def demo_logins() -> list[DemoAgent]:
    """Every demo agent, for the message ``make demo`` prints."""
    return [*HELPDESK_AGENTS, *CLUB_AGENTS]
