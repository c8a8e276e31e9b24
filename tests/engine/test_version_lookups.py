"""Starting a ticket's process looks its process versions up once (issue 16)."""

from __future__ import annotations

import re

from sqlalchemy import select

from desk.actor import SYSTEM
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import definitions
from engine.models import ProcessInstance
from flows import open_ticket
from tests.query_count import count_statements

FROM_VERSIONS = re.compile(r"\bFROM process_version\b")


def test_a_ticket_start_reads_the_process_versions_in_one_statement(session, engine):
    definitions.deploy_directory(session, actor=SYSTEM)
    session.commit()  # a new transaction, as a mail's own would be
    raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
    # A process parses its specs once (engine.definitions.runnable caches them by content):
    # a first start warms that, as in a running worker.
    open_ticket.start_default_process(
        session, ticket=tickets.create_ticket(session, actor=SYSTEM, title="Warm", queue=raw)
    )
    session.commit()
    ticket = tickets.create_ticket(session, actor=SYSTEM, title="One lookup", queue=raw)

    with count_statements(engine) as statements:
        instance = open_ticket.start_default_process(session, ticket=ticket)
        session.flush()

    assert instance is not None
    assert (
        session.scalars(select(ProcessInstance).where(ProcessInstance.ticket_id == ticket.id)).one()
        is instance
    )
    assert instance.process_version.process_id == "ticket_handling"
    lookups = [s for s in statements if FROM_VERSIONS.search(s)]
    assert len(lookups) == 1, "\n---\n".join(lookups)


def test_a_version_deployed_in_the_same_transaction_is_the_newest_at_once(session):
    definitions.deploy_directory(session, actor=SYSTEM)
    before = definitions.latest_version(session, "ticket_handling")
    assert before is not None
    xml = before.bpmn_xml.replace('name="Triage"', 'name="Triage (new)"', 1)
    assert xml != before.bpmn_xml

    definitions.deploy(session, actor=SYSTEM, bpmn_xml=xml, forms=before.forms)

    after = definitions.latest_version(session, "ticket_handling")
    assert after is not None
    assert after.version == before.version + 1
