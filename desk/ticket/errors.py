"""Errors specific to tickets."""

from __future__ import annotations

from core.errors import Conflict


class TicketLocked(Conflict):
    """Another agent holds the lock; the message names them."""

    code = "ticket_locked"


class TicketMerged(Conflict):
    """The ticket was merged into another one and takes no more changes."""

    code = "ticket_merged"
