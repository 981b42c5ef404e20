"""Weeks and deadlines. Week N of an offering covers start + 7(N-1) ... start + 7N - 1;
its log is due at the end of its last day, midnight in the institution's time zone,
plus ``grace_hours`` (absolute hours, so a daylight-saving change in between does not
stretch or shrink the grace period)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cms_cli.core import limits

if TYPE_CHECKING:
    from cms_cli.core.config import Config

#: The first and last days an offering may cover (core.limits' years).
FIRST_DAY = date(limits.FIRST_YEAR, 1, 1)
LAST_DAY = date(limits.LAST_YEAR, 12, 31)


def tracked_weeks(start: date, end: date) -> int:
    """The weeks of an offering that logs, the report, the lists and the sweep expand.

    All of them for offerings within the limits (create, update and import enforce
    those). Rows stored before the limits, or by another tool, never stop the rest:
    their first ``limits.MAX_WEEKS`` weeks are tracked, none when they start outside
    the supported years or end before they start (their dates would overflow the
    calendar, or mean nothing).
    """
    if end < start or not FIRST_DAY <= start <= LAST_DAY:
        return 0
    return min(((end - start).days + 7) // 7, limits.MAX_WEEKS)


def week_start(start: date, week: int) -> date:
    return start + timedelta(days=7 * (week - 1))


def week_end(start: date, week: int) -> date:
    """The last day of week N (for the last week too, even past the end date)."""
    return start + timedelta(days=7 * week - 1)


def due_at(start: date, week: int, tz: ZoneInfo, grace_hours: int) -> datetime:
    """When week N's log is due, as a UTC instant."""
    return due_at_day(week_end(start, week), tz, grace_hours)


def current_week(start: date, today: date) -> int:
    """The week that contains ``today`` (0 or less before the start)."""
    return (today - start).days // 7 + 1


def last_due_day(now: datetime, tz: ZoneInfo, grace_hours: int) -> date:
    """The latest week-end day whose log is due at ``now``.

    A week ending on day D is due at midnight after D (local) + grace; this returns the
    largest D with that instant <= now, so "due" becomes a date comparison a set-based
    query can make (week_end <= last_due_day).
    """
    shifted = (now - timedelta(hours=grace_hours)).astimezone(tz)
    candidate = shifted.date() - timedelta(days=1)
    # Local midnights are not always 24 h apart; settle the boundary exactly.
    while due_at_day(candidate + timedelta(days=1), tz, grace_hours) <= now:
        candidate += timedelta(days=1)
    while due_at_day(candidate, tz, grace_hours) > now:
        candidate -= timedelta(days=1)
    return candidate


@lru_cache(maxsize=4096)  # a term has few distinct week ends; listings ask for each often
def due_at_day(day: date, tz: ZoneInfo, grace_hours: int) -> datetime:
    """When a week whose last day is ``day`` is due."""
    midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return midnight.astimezone(UTC) + timedelta(hours=grace_hours)


@dataclass(frozen=True)
class Deadlines:
    """When weeks are due, and when overdue ones escalate: the one answer the tracker,
    the sweep and the messages share, built from the settings (``Deadlines.of``)."""

    tz: ZoneInfo
    grace_hours: int
    escalation_hours: int = 0

    @classmethod
    def of(cls, config: Config) -> Deadlines:
        s = config.settings
        return cls(config.tz, s.grace_hours, s.escalation_hours)

    def due(self, start: date, week: int) -> datetime:
        """When week ``week`` of an offering starting ``start`` is due (UTC)."""
        return due_at(start, week, self.tz, self.grace_hours)

    def last_due_day(self, now: datetime) -> date:
        """The latest week-end day due at ``now`` (reminders go out for it)."""
        return last_due_day(now, self.tz, self.grace_hours)

    def last_escalation_day(self, now: datetime) -> date:
        """The latest week-end day past its escalation at ``now``."""
        return last_due_day(now, self.tz, self.grace_hours + self.escalation_hours)

    def in_words(self, start: date, week: int) -> str:
        """The deadline as a reader reads it, in the institution's time: "due by the end
        of Tue 27 Jan 2026 (CET)", or "due by Tue 27 Jan 2026, 14:00 CET" when the
        grace does not end at midnight."""
        return self.in_words_for(week_end(start, week))

    def in_words_for(self, last: date) -> str:
        """``in_words`` of the week whose last day is ``last``."""
        due = due_at_day(last, self.tz, self.grace_hours).astimezone(self.tz)
        if due.time() == time.min:
            day = due - timedelta(days=1)
            return f"due by the end of {day:%a %d %b %Y} ({due:%Z})"
        return f"due by {due:%a %d %b %Y, %H:%M %Z}"
