"""cms tracker attendance: each student's attendance per offering, on SQLite and
MariaDB; who may see whom; --below; the rows a script reads."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Cli

from cms_cli.core.output import columns
from cms_cli.tracker.models import AttendancePublic


@pytest.fixture
def absences(cli: Cli, offerings: dict[str, int]) -> dict[str, int]:
    """Offering A: week 1 everyone present, weeks 2-4 Sam absent, week 5 logged
    without attendance (counts for nobody)."""
    a = str(offerings["A"])
    cli.login("ana@uni.edu")
    cli.ok("tracker", "log", "--offering", a, "--week", "1", "--all-present")
    for week in ("2", "3", "4"):
        cli.ok("tracker", "log", "--offering", a, "--week", week, "--absent", "sam@uni.edu")
    cli.ok("tracker", "log", "--offering", a, "--week", "5", "--formative-one", "done")
    cli.login("dean@uni.edu")
    return offerings


def rows(cli: Cli, *args: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = cli.ok("tracker", "attendance", *args, "--json").json()
    return data


def test_each_student_has_their_weeks_rate_run_and_last_week(
    cli: Cli, absences: dict[str, int]
) -> None:
    a = absences["A"]
    assert rows(cli) == [
        {
            "student": "sam@uni.edu",
            "offering_id": a,
            "module": "CS101",
            "weeks_recorded": 4,
            "present": 1,
            "rate": 25.0,
            "absent_run": 3,
            "last_present_week": 1,
        },
        {
            "student": "sue@uni.edu",
            "offering_id": a,
            "module": "CS101",
            "weeks_recorded": 4,
            "present": 4,
            "rate": 100.0,
            "absent_run": 0,
            "last_present_week": 4,
        },
    ]
    # Back in class in week 6: the run ends, the rate climbs.
    cli.login("ana@uni.edu")
    cli.ok("tracker", "log", "--offering", str(a), "--week", "6", "--all-present")
    sam = rows(cli, "--student", "SAM@uni.edu")
    assert [
        (r["weeks_recorded"], r["present"], r["absent_run"], r["last_present_week"]) for r in sam
    ] == [(5, 2, 0, 6)]


def test_a_student_enrolled_before_any_record_shows_none_yet(
    cli: Cli, offerings: dict[str, int]
) -> None:
    (row,) = rows(cli, "--offering", str(offerings["A"]), "--student", "sue@uni.edu")
    assert row["weeks_recorded"] == 0
    assert row["rate"] is None
    assert row["last_present_week"] is None
    human = cli.ok("tracker", "attendance", "--offering", str(offerings["A"])).stdout
    assert "none yet" in human


def test_below_keeps_the_students_under_the_threshold(cli: Cli, absences: dict[str, int]) -> None:
    assert [r["student"] for r in rows(cli, "--below", "75")] == ["sam@uni.edu"]
    assert rows(cli, "--below", "25") == []  # 25 % is not below 25 %
    for bad in ("0", "101", "-5"):
        refused = cli("tracker", "attendance", "--below", bad)
        assert refused.exit_code == 1, bad
        assert "--below must be a percentage" in refused.stderr


def test_who_sees_whom(cli: Cli, absences: dict[str, int]) -> None:
    a = str(absences["A"])
    cli.login("ana@uni.edu")
    assert len(rows(cli)) == 2  # her offering's students
    cli.login("ben@uni.edu")
    assert rows(cli) == []  # his offering has nobody enrolled
    assert cli("tracker", "attendance", "--offering", a).exit_code == 5
    cli.login("sam@uni.edu")
    assert [r["student"] for r in rows(cli)] == ["sam@uni.edu"]
    assert cli("tracker", "attendance", "--student", "sue@uni.edu").exit_code == 5
    cli.login("dean@uni.edu")
    assert cli("tracker", "attendance", "--offering", "999").exit_code == 3


def test_filters_and_formats(cli: Cli, absences: dict[str, int]) -> None:
    assert rows(cli, "--module", "MA201") == []
    assert len(rows(cli, "--module", "cs101", "--trimester", "1")) == 2
    csv = cli.ok("tracker", "attendance", "--csv").stdout.splitlines()
    assert csv[0] == ",".join(columns(AttendancePublic))
    assert csv[1].startswith("sam@uni.edu,")
    piped = cli.ok("tracker", "attendance").stdout.splitlines()
    assert piped[0].split("\t")[0] == "student"
    assert "25%" in piped[1]
