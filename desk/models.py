"""Imports every model so the metadata is complete (Alembic, create_all, mappers)."""

from desk.agent.models import (
    Agent,
    AgentGroupPermission,
    AgentRole,
    AgentSession,
    ApiToken,
    Group,
    LoginLimitCounter,
    Role,
    RoleGroupPermission,
)
from desk.article.models import Article, Attachment
from desk.audit.models import AuditEntry
from desk.blob.models import Blob
from desk.customer.models import CustomerCompany, CustomerUser
from desk.history.models import History
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from desk.rawmail.models import RawMail
from desk.template.models import AutoResponse, Salutation, Signature, StandardAttachment, StandardTemplate
from desk.ticket.models import State, Ticket, TicketLink, TicketNumberCounter, TicketType

__all__ = [
    "Agent",
    "AgentGroupPermission",
    "AgentRole",
    "AgentSession",
    "ApiToken",
    "Article",
    "Attachment",
    "AuditEntry",
    "AutoResponse",
    "Blob",
    "CustomerCompany",
    "CustomerUser",
    "Group",
    "History",
    "LoginLimitCounter",
    "OutboxMessage",
    "Queue",
    "RawMail",
    "Role",
    "RoleGroupPermission",
    "Salutation",
    "Signature",
    "StandardAttachment",
    "StandardTemplate",
    "State",
    "Ticket",
    "TicketLink",
    "TicketNumberCounter",
    "TicketType",
]

# Importing the guards here means no code path can load the models without them.
import desk.guards  # noqa: F401
