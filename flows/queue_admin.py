"""Administering queues: creating and changing one with its automatic answers and process.

One use case for the admin page and ``ticketflow queue create``.  The desk service checks
the right, the tree and the address; here come the rules that need the engine (the process
must be deployed) and the queue's automatic answers (follow-up policy *reject* answers with
the queue's reject text, so that text must exist).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from desk.actor import Actor
from desk.permission.service import require_admin
from desk.queue import service as queues
from desk.queue.models import Queue
from desk.template import admin as texts
from engine import definitions
from engine.models import ProcessVersion


@dataclass(frozen=True)
class AnswerText:
    """One automatic answer of the queue as the form gives it (empty text: leave as it is)."""

    kind: str
    subject: str
    text: str
    valid: bool = True


def deployed_processes(session: Session) -> list[str]:
    """The ids of the deployed processes (a queue starts the newest version of one)."""
    return list(
        session.scalars(select(ProcessVersion.process_id).distinct().order_by(ProcessVersion.process_id))
    )


def _check_process(session: Session, process_id: str | None) -> None:
    if process_id and definitions.latest_version(session, process_id) is None:
        raise ValidationError("unknown process", errors={"process_id": ["choose a deployed process"]})


def _save_answers(session: Session, *, actor: Actor, queue: Queue, answers: Sequence[AnswerText]) -> None:
    for answer in answers:
        if answer.subject.strip() or answer.text.strip():
            texts.save_auto_response(
                session,
                actor=actor,
                queue=queue,
                kind=answer.kind,
                subject=answer.subject,
                text=answer.text,
                valid=answer.valid,
            )
    if queue.follow_up_policy == "reject":
        reject = texts.auto_response(session, queue=queue, kind="reject")
        if reject is None or not reject.valid:
            raise ValidationError(
                "no reject answer",
                errors={"reject_text": ["the policy reject answers with this text: write it"]},
            )


def create_queue(
    session: Session,
    *,
    actor: Actor,
    process_id: str | None = None,
    answers: Sequence[AnswerText] = (),
    **options: Any,
) -> Queue:
    """Create a queue (see :func:`desk.queue.service.create_queue` for ``options``)."""
    require_admin(session, actor)
    _check_process(session, process_id)
    queue = queues.create_queue(session, actor=actor, process_id=process_id, **options)
    _save_answers(session, actor=actor, queue=queue, answers=answers)
    return queue


def update_queue(
    session: Session,
    *,
    actor: Actor,
    queue: Queue,
    process_id: str | None,
    answers: Sequence[AnswerText] = (),
    **options: Any,
) -> Queue:
    """Change a queue (see :func:`desk.queue.service.update_queue` for ``options``)."""
    require_admin(session, actor)
    _check_process(session, process_id)
    queues.update_queue(session, actor=actor, queue=queue, process_id=process_id, **options)
    _save_answers(session, actor=actor, queue=queue, answers=answers)
    return queue
