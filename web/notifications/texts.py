"""A notification's text in the reader's language, with its times in the reader's zone."""

from __future__ import annotations

import contextlib
from datetime import datetime

from desk.notifications import service as notifications
from desk.notifications.models import Notification
from web.i18n import format_when
from web.tickets.support import _

# Placeholders that hold a moment (ISO 8601) and are shown as a local date and time.
_TIMES = ("when",)


def render(row: Notification) -> str:
    """``row``'s msgid translated now, its placeholders filled in (times localized)."""
    args: dict[str, object] = dict(notifications.args_of(row))
    for name in _TIMES:
        raw = args.get(name)
        if isinstance(raw, str):
            with contextlib.suppress(ValueError):
                args[name] = format_when(datetime.fromisoformat(raw))
    try:
        return _(row.text, **args)
    except (KeyError, ValueError, TypeError):
        # A stored text whose placeholders no longer match: show it untranslated, not a 500.
        return row.text
