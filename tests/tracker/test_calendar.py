"""Weeks and deadlines, daylight-saving changes included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cms_cli.tracker import calendar

PARIS = ZoneInfo("Europe/Paris")


def test_week_bounds() -> None:
    start = date(2026, 1, 5)
    assert calendar.week_start(start, 1) == start
    assert calendar.week_end(start, 1) == date(2026, 1, 11)
    assert calendar.week_end(start, 3) == date(2026, 1, 25)
    assert calendar.current_week(start, date(2026, 1, 11)) == 1
    assert calendar.current_week(start, date(2026, 1, 12)) == 2
    assert calendar.current_week(start, date(2026, 1, 4)) == 0


def test_due_at_is_midnight_after_the_last_day_plus_grace() -> None:
    assert calendar.due_at(date(2026, 1, 5), 1, ZoneInfo("UTC"), 48) == datetime(
        2026, 1, 14, tzinfo=UTC
    )
    # Paris in winter is UTC+1: midnight Jan 12 local is 23:00 UTC on Jan 11.
    assert calendar.due_at(date(2026, 1, 5), 1, PARIS, 0) == datetime(2026, 1, 11, 23, tzinfo=UTC)


def test_due_at_across_the_spring_change() -> None:
    # The week ends Saturday 2026-03-28; clocks go forward in Paris on Sunday the 29th.
    start = date(2026, 3, 22)
    midnight = calendar.due_at(start, 1, PARIS, 0)
    assert midnight == datetime(2026, 3, 28, 23, tzinfo=UTC)  # still CET (UTC+1)
    # Grace is absolute: 48 real hours later, though the local clock shows 01:00 (CEST).
    due = calendar.due_at(start, 1, PARIS, 48)
    assert due - midnight == timedelta(hours=48)
    assert due.astimezone(PARIS).hour == 1


def test_due_at_across_the_autumn_change() -> None:
    # Clocks go back in Paris on Sunday 2026-10-25; the week ends Saturday the 24th.
    start = date(2026, 10, 18)
    assert calendar.due_at(start, 1, PARIS, 0) == datetime(2026, 10, 24, 22, tzinfo=UTC)  # CEST
    assert calendar.due_at(start, 2, PARIS, 0) == datetime(2026, 10, 31, 23, tzinfo=UTC)  # CET


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Paris", "America/New_York", "Pacific/Auckland", "Asia/Kolkata"]
)
@pytest.mark.parametrize("grace", [0, 1, 48, 72])
def test_last_due_day_agrees_with_due_at(zone: str, grace: int) -> None:
    """For every hour of a year: a week ending on D is due iff D <= last_due_day(now)."""
    tz = ZoneInfo(zone)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    while now < datetime(2027, 1, 3, tzinfo=UTC):
        cutoff = calendar.last_due_day(now, tz, grace)
        assert calendar.due_at_day(cutoff, tz, grace) <= now
        assert calendar.due_at_day(cutoff + timedelta(days=1), tz, grace) > now
        now += timedelta(hours=7, minutes=30)
