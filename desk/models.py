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
from desk.calendar.models import BusinessCalendar
from desk.customer.models import CustomerCompany, CustomerImport, CustomerUser
from desk.history.models import History
from desk.notifications.models import Notification
from desk.outbox.models import OutboxMessage
from desk.portal.models import CustomerSession, SignInLink
from desk.problem.models import ProblemMessage, ProblemRecipient
from desk.queue.models import Queue
from desk.rawmail.models import RawMail
from desk.reading.models import AgentTicketSeen
from desk.saved_view.models import SavedView
from desk.services.models import Service
from desk.sla.models import ServiceLevel, ServiceLevelRule
from desk.team.models import AgentAvailability, TemporaryMembership
from desk.template.models import (
    AutoResponse,
    Salutation,
    Signature,
    StandardAttachment,
    StandardTemplate,
    TextVariant,
)
from desk.ticket.models import State, Ticket, TicketLink, TicketNumberCounter, TicketPriority, TicketType
from desk.time_accounting.models import TimeAccounting

__all__ = [
    "Agent",
    "AgentAvailability",
    "AgentGroupPermission",
    "AgentRole",
    "AgentSession",
    "AgentTicketSeen",
    "ApiToken",
    "Article",
    "Attachment",
    "AuditEntry",
    "AutoResponse",
    "Blob",
    "BusinessCalendar",
    "CustomerCompany",
    "CustomerImport",
    "CustomerSession",
    "CustomerUser",
    "Group",
    "History",
    "LoginLimitCounter",
    "Notification",
    "OutboxMessage",
    "ProblemMessage",
    "ProblemRecipient",
    "Queue",
    "RawMail",
    "Role",
    "RoleGroupPermission",
    "Salutation",
    "SavedView",
    "Service",
    "ServiceLevel",
    "ServiceLevelRule",
    "SignInLink",
    "Signature",
    "StandardAttachment",
    "StandardTemplate",
    "State",
    "TemporaryMembership",
    "TextVariant",
    "Ticket",
    "TicketLink",
    "TicketNumberCounter",
    "TicketPriority",
    "TicketType",
    "TimeAccounting",
]

# Importing the guards here means no code path can load the models without them.
import desk.guards  # noqa: F401
