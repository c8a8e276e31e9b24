"""Readable, translated names for values the database keeps in English or as codes.

States, priorities, history types, article channels and state types are stored as the
OTRS names or codes (``closed successful``, ``StateUpdate``, ``email``); the pages show them
through the Jinja filters installed by :func:`init_app` (``|state_name``, ``|history_label``,
``|channel_label``, ``|state_type_label``), which translate in the request's language.
Names an administrator gave (a new state, a renamed priority) are data: they are shown as
written, only the built-in ones are message ids.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext

from core.i18n import N_

# The seed's states (desk.ticket.states.DEFAULT_STATES); listed here so the extractor sees them.
BUILTIN_STATES = frozenset(
    {
        N_("new"),
        N_("open"),
        N_("pending reminder"),
        N_("closed successful"),
        N_("closed unsuccessful"),
        N_("pending auto close+"),
        N_("pending auto close-"),
        N_("merged"),
    }
)

STATE_TYPES = {
    "new": N_("new"),
    "open": N_("open"),
    "pending_reminder": N_("pending reminder"),
    "pending_auto": N_("pending auto"),
    "closed": N_("closed"),
    "merged": N_("merged"),
}

# The built-in names of the priorities 1–5 (an administrator may rename them).
PRIORITIES = {1: N_("very low"), 2: N_("low"), 3: N_("normal"), 4: N_("high"), 5: N_("very high")}

CHANNELS = {
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "note": N_("Note"),
    "web": N_("Web"),
    "system": N_("System"),
}

# OTRS history types (desk.history) as the ticket page's history lists them.
HISTORY_TYPES = {
    "NewTicket": N_("Ticket created"),
    "StateUpdate": N_("State changed"),
    "Move": N_("Moved to another queue"),
    "OwnerUpdate": N_("Owner changed"),
    "ResponsibleUpdate": N_("Responsible agent changed"),
    "PriorityUpdate": N_("Priority changed"),
    "TitleUpdate": N_("Title changed"),
    "TypeUpdate": N_("Type changed"),
    "CustomerUpdate": N_("Customer changed"),
    "SetPendingTime": N_("Pending time set"),
    "Lock": N_("Locked"),
    "Unlock": N_("Unlocked"),
    "Merged": N_("Merged"),
    "Link": N_("Linked"),
    "Split": N_("Split"),
    "SendAnswer": N_("Answer sent"),
    "AddNote": N_("Note added"),
    "FollowUp": N_("Follow-up from the customer"),
    "EmailCustomer": N_("Mail to the customer"),
    "EmailAgent": N_("Internal mail"),
    "PhoneCallCustomer": N_("Phone call with the customer"),
    "PhoneCallAgent": N_("Phone call by an agent"),
    "WebRequestCustomer": N_("Request from the customer on the web"),
    "SystemRequest": N_("System message"),
    "ReminderReached": N_("Reminder time reached"),
    "ProcessStart": N_("Process started"),
    "ProcessEnd": N_("Process ended"),
    "ProcessMigrate": N_("Process moved to a newer version"),
    "ProcessMessage": N_("Process message"),
    "TaskCompleted": N_("Task completed"),
    "EscalationResponseTimeNotifyBefore": N_("First response time runs out soon"),
    "EscalationUpdateTimeNotifyBefore": N_("Update time runs out soon"),
    "EscalationSolutionTimeNotifyBefore": N_("Solution time runs out soon"),
    "EscalationResponseTimeStart": N_("First response time ran out"),
    "EscalationUpdateTimeStart": N_("Update time ran out"),
    "EscalationSolutionTimeStart": N_("Solution time ran out"),
    "SLAUpdate": N_("Service level changed"),
    "ServiceUpdate": N_("Service changed"),
}


def state_name(name: str | None) -> str:
    """A state's name in the request's language (an administrator's own state as written)."""
    if not name:
        return ""
    return str(gettext(name)) if name in BUILTIN_STATES else name


def state_type_label(code: str | None) -> str:
    """A state type (``pending_auto``) as words in the request's language."""
    msgid = STATE_TYPES.get(code or "")
    return str(gettext(msgid)) if msgid else (code or "")


def priority_name(number: int | None, named: dict[int, str] | None = None) -> str:
    """Priority ``number``'s name: the administrator's (``named``) or the translated built-in."""
    if number is None:
        return ""
    if named and named.get(number):
        return named[number]
    msgid = PRIORITIES.get(number)
    return str(gettext(msgid)) if msgid else str(number)


def channel_label(code: str | None) -> str:
    """An article channel (``email``) in the request's language."""
    msgid = CHANNELS.get(code or "")
    return str(gettext(msgid)) if msgid else (code or "")


def history_label(type_: str | None) -> str:
    """A history type (``StateUpdate``) as a readable label; an unknown type as it is."""
    msgid = HISTORY_TYPES.get(type_ or "")
    return str(gettext(msgid)) if msgid else (type_ or "")


def init_app(app: Flask) -> None:
    """Install the filters."""
    app.jinja_env.filters.update(
        state_name=state_name,
        state_type_label=state_type_label,
        priority_name=priority_name,
        channel_label=channel_label,
        history_label=history_label,
    )
