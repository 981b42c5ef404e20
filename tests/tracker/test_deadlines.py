"""cms tracker deadlines: the weeks still to log, for people, scripts and calendars."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar
from conftest import ALL_DONE, Cli


def deadlines(cli: Cli, *args: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = cli.ok("tracker", "deadlines", *args, "--json").json()
    return data


def test_a_facilitator_sees_their_weeks_not_yet_due(cli: Cli, offerings: dict[str, int]) -> None:
    # Now is Sun 1 Feb 2026 12:00 UTC; A started Mon 5 Jan (8 weeks): week 4 ends
    # Sun 1 Feb and is due Wed 4 Feb 00:00 UTC (midnight after it, plus 48 h grace).
    a = offerings["A"]
    cli.login("ana@uni.edu")
    cli.ok("tracker", "log", "--offering", str(a), "--week", "5", "--all-present", *ALL_DONE)
    rows = deadlines(cli)
    assert [r["week"] for r in rows] == [4, 5, 6, 7, 8]
    assert {r["offering_id"] for r in rows} == {a}
    first = rows[0]
    assert first["due_at"] == "2026-02-04T00:00:00+00:00"
    assert first["last_day"] == "2026-02-01"
    assert [r["complete"] for r in rows] == [False, True, False, False, False]
    assert cli("tracker", "deadlines", "--facilitator", "ben@uni.edu").exit_code == 5
    assert cli("tracker", "deadlines", "--offering", str(offerings["B"])).exit_code == 5


def test_managers_choose_whose_students_cannot(cli: Cli, offerings: dict[str, int]) -> None:
    everyone = deadlines(cli)
    assert {r["offering_id"] for r in everyone} == set(offerings.values())
    assert [r["due_at"] for r in everyone] == sorted(r["due_at"] for r in everyone)
    ben = deadlines(cli, "--facilitator", "BEN@uni.edu")
    assert {r["offering_id"] for r in ben} == {offerings["B"]}
    assert deadlines(cli, "--offering", str(offerings["A"])) == [
        r for r in everyone if r["offering_id"] == offerings["A"]
    ]
    assert cli("tracker", "deadlines", "--offering", "999").exit_code == 3
    cli.login("sam@uni.edu")
    assert cli("tracker", "deadlines").exit_code == 5


def test_the_calendar_file_parses_and_its_uids_are_stable(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    cli.login("ana@uni.edu")
    first, second = tmp_path / "one.ics", tmp_path / "two.ics"
    cli.ok("tracker", "deadlines", "--ics", str(first))
    cli.env["CMS_NOW"] = "2026-02-01T13:00:00+00:00"  # an hour later: another DTSTAMP
    cli.ok("tracker", "deadlines", "--ics", str(second))
    calendars = [icalendar.Calendar.from_ical(p.read_bytes()) for p in (first, second)]
    events = [list(c.walk("VEVENT")) for c in calendars]
    assert [str(e["UID"]) for e in events[0]] == [str(e["UID"]) for e in events[1]]
    assert len({str(e["UID"]) for e in events[0]}) == len(events[0]) == 5
    week4 = events[0][0]
    assert week4.decoded("DTSTART") == datetime(2026, 2, 4, tzinfo=UTC)
    assert "week 4" in str(week4["SUMMARY"])
    assert f"cms tracker log --offering {offerings['A']} --week 4" in str(week4["DESCRIPTION"])
    (alarm,) = week4.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER").total_seconds() == -86_400
    assert calendars[0]["VERSION"] == "2.0"


def test_an_unwritable_calendar_file_is_one_line(cli: Cli, offerings: dict[str, int]) -> None:
    refused = cli("tracker", "deadlines", "--ics", "/nonexistent/deadlines.ics")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: cannot write /nonexistent/deadlines.ics")
    assert "Traceback" not in refused.stderr
