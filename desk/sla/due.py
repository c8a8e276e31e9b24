"""Due times of a ticket under a service level (pure: no database).

OTRS's rules: the first response is due a target after the ticket was opened, until an agent
answered the customer; an update is due a target after the customer's last message that no
agent has answered yet; the solution is due a target after the ticket was opened, until it
is closed.  All targets count working minutes of the calendar, and the working minutes a
ticket spent paused (pending, when the level says so) push every due time back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from desk.calendar.hours import WEEKDAYS, WorkingCalendar

# Without a calendar every minute counts (round the clock, no holidays).
ALWAYS = WorkingCalendar(time_zone="UTC", hours={day: [(time(0), time.max)] for day in WEEKDAYS})


@dataclass(frozen=True)
class Targets:
    """Targets in working minutes (0 = none) and the warning share."""

    first_response_minutes: int = 0
    update_minutes: int = 0
    solution_minutes: int = 0
    notify_before_percent: int = 0


@dataclass(frozen=True)
class TicketClock:
    """What the due times depend on."""

    opened_at: datetime
    first_response_at: datetime | None = None
    # The customer's newest message that no agent has answered since (None when answered).
    unanswered_since: datetime | None = None
    closed: bool = False
    # Working minutes spent paused so far (pending states under a pausing level).
    paused_minutes: int = 0


@dataclass(frozen=True)
class DueTimes:
    """The due times, and when to warn before each (None where no target applies)."""

    first_response_due: datetime | None = None
    first_response_warn: datetime | None = None
    update_due: datetime | None = None
    update_warn: datetime | None = None
    solution_due: datetime | None = None
    solution_warn: datetime | None = None

    def earliest(self) -> datetime | None:
        """The first due time of the three (the inbox sorts by it)."""
        times = [t for t in (self.first_response_due, self.update_due, self.solution_due) if t]
        return min(times) if times else None


def _due(
    calendar: WorkingCalendar, start: datetime, target: int, paused: int, percent: int
) -> tuple[datetime | None, datetime | None]:
    if target <= 0:
        return None, None
    due = calendar.add_working_minutes(start, target + paused)
    warn = None
    if 0 < percent < 100:
        warn = calendar.add_working_minutes(start, target - target * percent // 100 + paused)
    return due, warn


def due_times(calendar: WorkingCalendar, targets: Targets, clock: TicketClock) -> DueTimes:
    """The due times of a ticket right now; a closed ticket has none."""
    if clock.closed:
        return DueTimes()
    percent = targets.notify_before_percent
    first = warn_first = None
    if clock.first_response_at is None:
        first, warn_first = _due(
            calendar, clock.opened_at, targets.first_response_minutes, clock.paused_minutes, percent
        )
    update = warn_update = None
    if clock.unanswered_since is not None and clock.first_response_at is not None:
        # Pauses before the customer wrote do not count for the update target.
        update, warn_update = _due(calendar, clock.unanswered_since, targets.update_minutes, 0, percent)
    solution, warn_solution = _due(
        calendar, clock.opened_at, targets.solution_minutes, clock.paused_minutes, percent
    )
    return DueTimes(
        first_response_due=first,
        first_response_warn=warn_first,
        update_due=update,
        update_warn=warn_update,
        solution_due=solution,
        solution_warn=warn_solution,
    )
