"""Times as a person reads them (core.relative): how long ago, how late, and the
absolute day beside it, in the institution's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cms_cli.core import relative
from cms_cli.core.relative import Ago, Due

NOW = datetime(2026, 12, 3, 19, 14, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (10, "just now"),
        (44, "just now"),
        (60, "1 min ago"),
        (150, "2 min ago"),
        (89 * 60, "89 min ago"),
        (90 * 60, "1 hour ago"),
        (5 * 3600 + 1800, "5 hours ago"),
        (35 * 3600, "35 hours ago"),
        (36 * 3600, "1 day ago"),
        (4.5 * 86400, "4 days ago"),  # whole units, counted down
        (13 * 86400, "13 days ago"),
        (14 * 86400, "2 weeks ago"),
        (19 * 7 * 86400 + 3 * 86400, "19 weeks ago"),
        (200 * 86400, "6 months ago"),
        (800 * 86400, "2 years ago"),
        (-3 * 86400, "in 3 days"),
        (-50 * 60, "just now"),  # a clock behind by up to an hour
    ],
)
def test_ago(seconds: float, said: str) -> None:
    assert relative.ago(NOW - timedelta(seconds=seconds), NOW) == said


def test_lateness_and_a_deadline_to_come() -> None:
    due = datetime(2026, 7, 22, tzinfo=UTC)
    assert relative.lateness(due, NOW) == "19 weeks late"
    assert relative.lateness(NOW + timedelta(days=3, hours=2), NOW) == "in 3 days"


def test_a_deadline_at_midnight_is_the_end_of_the_day_before() -> None:
    """As the reminder mails say it: due at 22 Jul 00:00 is "by the end of 21 Jul"."""
    midnight = datetime(2026, 7, 21, 22, tzinfo=UTC)  # 22 Jul 00:00 in Paris (CEST)
    assert relative.due_cell(Due(midnight), PARIS, NOW) == "21 Jul · 19 weeks late"
    assert relative.due_cell(Due(midnight, met=True), PARIS, NOW) == "21 Jul"
    afternoon = datetime(2026, 12, 10, 13, tzinfo=UTC)  # 14:00 in Paris
    assert relative.due_cell(Due(afternoon), PARIS, NOW) == "10 Dec 14:00 · in 6 days"


def test_the_year_is_said_only_far_from_now() -> None:
    """In January a deadline of September reads "8 Sep · 16 weeks late" (the "late"
    leaves no doubt which September, and the column keeps its room); a year ago, the
    year is said."""
    january = datetime(2027, 1, 2, 10, 14, tzinfo=UTC)
    september = datetime(2026, 9, 9, tzinfo=UTC)
    assert relative.due_cell(Due(september), UTC, january) == "8 Sep · 16 weeks late"
    # a client whose clock runs a little behind the server's: "just now", not "in 14 min"
    assert relative.ago(NOW + timedelta(minutes=14), NOW) == "just now"
    assert relative.ago(NOW + timedelta(hours=2), NOW) == "in 2 hours"


def test_the_year_is_said_when_it_is_not_this_years() -> None:
    last_year = datetime(2025, 11, 30, 8, 5, tzinfo=UTC)
    assert relative.ago_cell(Ago(last_year), PARIS, NOW) == "30 Nov 2025 09:05 · 1 year ago"
    assert relative.ago_cell(Ago(NOW - timedelta(minutes=2)), UTC, NOW) == "3 Dec 19:12 · 2 min ago"
    new_year = datetime(2026, 12, 31, 23, tzinfo=UTC)  # 1 Jan 2027 00:00 in Paris
    assert relative.due_day(new_year, PARIS, NOW) == "31 Dec"
    assert relative.due_day(new_year, UTC, NOW) == "31 Dec 23:00"
    far = datetime(2025, 9, 1, 22, tzinfo=UTC)  # 2 Sep 00:00 in Paris, 15 months ago
    assert relative.due_day(far, PARIS, NOW) == "1 Sep 2025"


def test_a_naive_time_read_back_from_a_driver_is_utc() -> None:
    naive = datetime(2026, 12, 3, 19, 12)
    assert relative.ago_cell(Ago(naive), UTC, NOW) == "3 Dec 19:12 · 2 min ago"


def test_one_percentage_format_everywhere() -> None:
    """Whole percents, half up, no space; and no other percentage format is written
    anywhere in cms (terminal, HTML, mail): every one goes through core.text."""
    import re
    from pathlib import Path

    from cms_cli.core.text import percent, share

    assert percent(53.3) == "53%"
    assert percent(62.5) == "63%"
    assert percent(0) == "0%"
    assert percent(100) == "100%"
    assert share(1, 8) == "13%"
    assert share(3, 0) == "n/a"
    assert share(3, 0, none="nothing due") == "nothing due"
    root = Path(__file__).parents[2] / "cms_cli"
    written = re.compile(r"\}\s?%")  # f"{rate}%", f"{n} %": a percentage formatted by hand
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.py")
        if path.name != "text.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if written.search(line)
    ]
    assert found == []


def test_rates_for_people_come_from_the_counts_not_a_rounded_rate() -> None:
    """19 of 21 is 90.48%: stored as 90.5 (one decimal), it must still read 90%, as the
    rate line of `reflection list` says it, never 91% (rounded twice)."""
    from cms_cli.tracker import views

    assert views.shown_totals({"complete": 19, "due": 21, "rate": 90.5})["rate"] == "90%"
    assert views.shown_totals({"complete": 0, "due": 0, "rate": None})["rate"] == "nothing due"
    row = {"present": 19, "weeks_recorded": 21, "rate": 90.5, "last_present_week": 21}
    assert views.shown_attendance(row)["rate"] == "90%"
    none = {"present": 0, "weeks_recorded": 0, "rate": None, "last_present_week": None}
    assert views.shown_attendance(none)["rate"] == "none yet"
