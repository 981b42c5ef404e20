"""Times for people: the absolute time and, beside it, how long ago or how late.

A listing on a terminal reads ``3 Dec 19:14 · 2 min ago`` and ``due 21 Jul · 19 weeks
late``; piped, the same cells are absolute times only (what ``gh`` does), and JSON and
CSV keep ISO 8601. A listing's row marks such a cell by holding an :class:`Ago` or a
:class:`Due` instead of the bare datetime; core.output renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from cms_cli.core.text import plural

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY


@dataclass(frozen=True, slots=True)
class Ago:
    """An instant shown with how long ago it was (a notification's creation)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Due:
    """A deadline shown as its day and how late (or how soon) it is; ``met``: the work
    is done, so lateness is not said."""

    at: datetime
    met: bool = False


def span(seconds: float) -> str:
    """A duration in the largest unit that reads naturally, in whole units counted
    down (4½ days is "4 days", as a person counts them): "2 min", "5 hours", "3 days",
    "19 weeks", "7 months", "2 years"."""
    seconds = abs(seconds)
    if seconds < 90 * MINUTE:
        return f"{max(1, int(seconds // MINUTE))} min"
    if seconds < 36 * HOUR:
        return plural(int(seconds // HOUR), "hour")
    if seconds < 14 * DAY:
        return plural(int(seconds // DAY), "day")
    if seconds < 26 * WEEK:
        return plural(int(seconds // WEEK), "week")
    if seconds < 365 * DAY:
        return plural(int(seconds // (30.44 * DAY)), "month")
    return plural(int(seconds // (365.25 * DAY)), "year")


#: Within this of now, a time is said without its year (the "ago" beside it leaves no
#: doubt which year it is): a deadline of September read in January is "8 Sep".
NO_YEAR_WITHIN = 300 * DAY
#: A past event up to this far in the future is a clock that runs behind the server's
#: (a client): "just now", not "in 14 min".
SKEW = HOUR


def ago(at: datetime, now: datetime) -> str:
    """ "just now", "2 min ago", "3 days ago"; a future instant "in 2 days"."""
    seconds = (_aware(now) - _aware(at)).total_seconds()
    if -SKEW < seconds < 45:
        return "just now"
    return f"{span(seconds)} ago" if seconds > 0 else f"in {span(seconds)}"


def lateness(due: datetime, now: datetime) -> str:
    """ "19 weeks late" past the deadline, "in 3 days" before it."""
    seconds = (_aware(now) - _aware(due)).total_seconds()
    if seconds >= 0:
        return f"{span(seconds)} late"
    return f"in {span(seconds)}"


def stamp(at: datetime, tz: tzinfo | None, now: datetime) -> str:
    """An instant in the institution's time, short: "3 Dec 19:14", the year added when
    it is far from now ("3 Dec 2025 19:14")."""
    local = _local(at, tz)
    if _near(at, now):
        return f"{local.day} {local:%b %H:%M}"
    return f"{local.day} {local:%b %Y %H:%M}"


def due_day(due: datetime, tz: tzinfo | None, now: datetime) -> str:
    """The deadline as a day, as the reminder mails say it: a deadline at midnight is
    the end of the day before ("21 Jul"); one at another hour says it ("22 Jul 14:00").
    The year is added when it is far from now."""
    local = _local(due, tz)
    if local.time() == time.min:
        day = local - timedelta(days=1)
        clock = ""
    else:
        day, clock = local, f" {local:%H:%M}"
    year = "" if _near(due, now) else f" {day.year}"
    return f"{day.day} {day:%b}{year}{clock}"


def ago_cell(value: Ago, tz: tzinfo | None, now: datetime) -> str:
    """``3 Dec 19:14 · 2 min ago``."""
    return f"{stamp(value.at, tz, now)} · {ago(value.at, now)}"


def due_cell(value: Due, tz: tzinfo | None, now: datetime) -> str:
    """``21 Jul · 19 weeks late``, ``28 Dec · in 3 weeks``, or the day alone when the
    work is done."""
    day = due_day(value.at, tz, now)
    return day if value.met else f"{day} · {lateness(value.at, now)}"


def _near(at: datetime, now: datetime) -> bool:
    return abs((_aware(now) - _aware(at)).total_seconds()) < NO_YEAR_WITHIN


def _local(at: datetime, tz: tzinfo | None) -> datetime:
    moment = _aware(at)
    return moment.astimezone(tz) if tz is not None else moment


def _aware(at: datetime) -> datetime:
    """A time read back naive (some drivers do) is UTC, as cms stores every time."""
    from cms_cli.core.clock import aware

    return aware(at)
