"""Queues: agents read the queues they may read; customers the queues offered to them.

A customer token lists only the valid queues marked *customer-facing* (``Queue.customer_facing``)
in the trimmed :class:`CustomerQueueSchema` (id and name: no group, address or policy), the
queues it may open tickets in.  Any other queue id is 404 to it, never 403, so internal queues
cannot be probed.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from core.errors import NotFound
from desk.customer.models import CustomerUser
from desk.permission import service as permissions
from desk.queue import service as queue_service
from desk.queue.models import Queue
from web.api.common import current_actor, db, get_or_404
from web.api.schemas import CustomerQueueSchema, QueueSchema
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("queues", url_prefix="/api/v1/queues", description="Queues (read only)")


def _queue_either() -> dict[str, Any]:
    """The documented body: the agent's or the customer's shape of a queue."""
    return {"anyOf": [QueueSchema, CustomerQueueSchema]}


def _offered_to_customers(queue: Queue) -> bool:
    return queue.customer_facing and queue.valid


@bp.route("", methods=["GET"])
@bp.response(200, {"type": "array", "items": _queue_either()})
def list_queues() -> ResponseReturnValue:
    """The queues the agent may read, in path order; for a customer, those open to customers."""
    session, actor = db(), current_actor()
    every = queue_service.list_queues(session)
    if isinstance(actor, CustomerUser):
        return jsonify(CustomerQueueSchema(many=True).dump([q for q in every if _offered_to_customers(q)]))
    readable = [q for q in every if permissions.has_queue_permission(session, actor, q, "ro")]
    return jsonify(QueueSchema(many=True).dump(readable))


@bp.route("/<int:queue_id>", methods=["GET"])
@bp.response(200, _queue_either())
def get_queue(queue_id: int) -> ResponseReturnValue:
    """One queue the agent may read (403 otherwise); for a customer, one open to customers (404)."""
    session, actor = db(), current_actor()
    queue = get_or_404(Queue, queue_id, "queue")
    if isinstance(actor, CustomerUser):
        if not _offered_to_customers(queue):
            raise NotFound("no such queue")
        return jsonify(CustomerQueueSchema().dump(queue))
    permissions.require_queue(session, actor, queue, "ro")
    return jsonify(QueueSchema().dump(queue))
