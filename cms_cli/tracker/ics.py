"""Deadlines as an iCalendar file (RFC 5545, through the icalendar library): what
`tracker deadlines --ics` writes, for Outlook, Google Calendar and the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from cms_cli.tracker.calendar import Deadlines
from cms_cli.tracker.public import DeadlinePublic

#: How long a deadline's calendar event lasts, and when its alarm rings before it.
EVENT_LENGTH = timedelta(minutes=15)
ALARM_BEFORE = timedelta(hours=24)


def uid(item: DeadlinePublic) -> str:
    """The event's UID: the same offering and week give the same UID on every run, so
    a calendar that imports the file again updates the event instead of adding one."""
    return f"cms-offering-{item.offering_id}-week-{item.week}@cms"


def calendar_file(items: list[DeadlinePublic], *, deadlines: Deadlines, now: datetime) -> bytes:
    """An iCalendar file (RFC 5545): one event per week at its due time (UTC), with a
    display alarm a day before (none for a week already complete, whose summary says
    "done") and the command that logs it."""
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//cms//weekly activity deadlines//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "cms: weekly log deadlines")
    cal.add("x-wr-timezone", str(deadlines.tz))
    for item in items:
        event = Event()
        event.add("uid", uid(item))
        event.add("dtstamp", now)
        event.add("dtstart", item.due_at)
        event.add("dtend", item.due_at + EVENT_LENGTH)
        event.add(
            "summary", f"{item.module}: week {item.week} log due (offering {item.offering_id})"
        )
        event.add(
            "description",
            f"{deadlines.in_words(item.last_day - timedelta(days=6), 1)}.\n"
            f"cms tracker log --offering {item.offering_id} --week {item.week}",
        )
        event.add("transp", "TRANSPARENT")
        if not item.complete:  # a week already logged in full rings no alarm
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{item.module} week {item.week} log due tomorrow")
            alarm.add("trigger", -ALARM_BEFORE)
            event.add_component(alarm)
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
