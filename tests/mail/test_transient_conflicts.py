"""A transient conflict is retried, never a permanent failure (nothing is lost).

Two first mails from the same new address processed at the same moment both try to create
that customer user; the second one's insert waits for the first transaction and then meets
the unique key.  It must be tried again and become a ticket of the same customer, not a
``failed`` mail.
"""

from __future__ import annotations

import threading

from sqlalchemy import select

from core.db import session_scope
from desk.customer.models import CustomerUser
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from mail.inbound.pipeline import process_raw_mail
from mail.inbound.store import store_raw
from mail.tasks import is_transient, process_one
from tests.mail.conftest import build_mail

NEWCOMER = "nora.newcomer@startup.example"


def _stored(mail_env, subject: str) -> int:
    with session_scope(mail_env) as session:
        raw, created = store_raw(
            session,
            data=build_mail(sender=NEWCOMER, subject=subject).as_bytes(),
            source="pipe",
            envelope_to="support@helpdesk.example",
        )
        assert created
        return raw.id


def test_two_first_mails_of_a_new_sender_at_once_both_become_tickets(mail_env, drain):
    first, second = _stored(mail_env, "VPN broken"), _stored(mail_env, "VPN still broken")
    drain()  # the jobs of the two stores ran already; put both back to "just arrived"
    with session_scope(mail_env) as session:
        for raw in session.scalars(select(RawMail).where(RawMail.id.in_((first, second)))):
            raw.status = "received"
            raw.ticket_id = None
        for ticket in session.scalars(select(Ticket).where(Ticket.title.like("VPN%broken"))):
            ticket.title = f"old copy {ticket.id}"
        found = session.scalars(select(CustomerUser).where(CustomerUser.email == NEWCOMER)).all()
        for customer in found:
            customer.email = f"moved.{customer.id}@startup.example"
            customer.login = f"moved.{customer.id}"

    # The first mail's transaction creates the customer and stays open ...
    holder = mail_env()
    process_raw_mail(holder, raw_mail_id=first)
    holder.flush()
    # ... while the second mail is processed: its insert of the same customer waits.
    racer = threading.Thread(target=process_one, args=(second,))
    racer.start()
    racer.join(timeout=2)
    assert racer.is_alive(), "the second insert should wait for the first transaction"
    holder.commit()
    holder.close()
    racer.join(timeout=60)
    assert not racer.is_alive()

    with session_scope(mail_env) as session:
        raws = {r.id: r for r in session.scalars(select(RawMail).where(RawMail.id.in_((first, second))))}
        assert {r.status for r in raws.values()} == {"processed"}, [
            (r.status, r.error) for r in raws.values()
        ]
        customers = session.scalars(select(CustomerUser).where(CustomerUser.email == NEWCOMER)).all()
        assert len(customers) == 1
        tickets = session.scalars(
            select(Ticket).where(Ticket.id.in_([r.ticket_id for r in raws.values()]))
        ).all()
        assert sorted(t.title for t in tickets) == ["VPN broken", "VPN still broken"]
        assert {t.customer_user_id for t in tickets} == {customers[0].id}


def test_a_conflict_that_persists_stays_for_the_sweep_and_fails_only_after_many_attempts(
    mail_env, drain, monkeypatch
):
    raw_id = _stored(mail_env, "Conflicting")
    drain()  # its own job has run: from here on only this test processes it
    from sqlalchemy.exc import IntegrityError

    from mail import tasks

    def always_conflicting(session, *, raw_mail_id):
        raise IntegrityError("INSERT …", {}, Exception("duplicate key value violates unique constraint"))

    monkeypatch.setattr(tasks, "process_raw_mail", always_conflicting)
    monkeypatch.setattr(tasks, "ATTEMPTS_BEFORE_FAILED", 3)
    with session_scope(mail_env) as session:
        session.get(RawMail, raw_id).status = "received"
        session.get(RawMail, raw_id).attempts = 0
    tasks.process_one(raw_id)
    with session_scope(mail_env) as session:
        raw = session.get(RawMail, raw_id)
        assert (raw.status, raw.attempts) == ("received", 1)
        assert raw.error.startswith("will be tried again")
    tasks.process_one(raw_id)
    tasks.process_one(raw_id)
    with session_scope(mail_env) as session:
        raw = session.get(RawMail, raw_id)
        assert (raw.status, raw.attempts) == ("failed", 3)
        assert raw.error.startswith("IntegrityError")


def test_bad_mail_is_not_transient():
    assert not is_transient(ValueError("broken"))
    assert not is_transient(KeyError("x"))
