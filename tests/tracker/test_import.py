"""cms tracker import: weekly logs in bulk with tracker log's rules, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import Cli

HEADER = (
    "offering,week,formative_one_grading,formative_two_grading,summative_grading,"
    "course_moderation,intranet_sync,grade_book_status,notes,present,absent"
)


def write(tmp_path: Path, *lines: str, header: str = HEADER) -> str:
    path = tmp_path / "weeks.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def week(cli: Cli, offering: int, number: int) -> dict[str, Any]:
    data: dict[str, Any] = cli.ok(
        "tracker", "show", "--offering", str(offering), "--week", str(number), "--json"
    ).json()
    return data


def test_rows_create_and_update_with_the_fields_they_give(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    a = offerings["A"]
    cli.login("ana@uni.edu")
    cli.ok(
        "tracker",
        "log",
        "--offering",
        str(a),
        "--week",
        "3",
        "--notes",
        "kept",
        "--summative",
        "done",
    )
    path = write(
        tmp_path,
        f"{a},1,done,done,done,done,done,done,first week,all,",
        f"{a},2,pending,,,,,,,,SAM@uni.edu",
        f"{a},3,done,,,,,,,sue@uni.edu,",
    )
    dry = cli.ok("tracker", "import", path, "--dry-run")
    assert "3 row(s) checked, all valid: 2 log(s) would be created, 1 updated" in dry.stdout
    assert cli("tracker", "show", "--offering", str(a), "--week", "1").exit_code == 3
    assert cli.ok("tracker", "import", path, "--json").json() == {
        "created": 2,
        "updated": 1,
        "checked": 3,
        "dry_run": False,
    }
    first = week(cli, a, 1)
    assert first["complete"] is True
    assert first["submitted_at"] is not None
    assert first["notes"] == "first week"
    assert first["attendance"] == {"sam@uni.edu": True, "sue@uni.edu": True}
    second = week(cli, a, 2)
    assert second["formative_one_grading"] == "pending"
    assert second["summative_grading"] == "not-started"
    assert second["attendance"] == {"sam@uni.edu": False, "sue@uni.edu": True}
    assert second["completion"] == 14  # attendance only: 1 of 7
    third = week(cli, a, 3)
    assert (third["notes"], third["summative_grading"]) == ("kept", "done")  # kept
    assert third["formative_one_grading"] == "done"
    assert third["attendance"] == {"sam@uni.edu": False, "sue@uni.edu": True}
    assert third["completion"] == 43  # two done and attendance
    # Importing the same file again updates all three, changing nothing.
    again = cli.ok("tracker", "import", path, "--json").json()
    assert (again["created"], again["updated"]) == (0, 3)
    assert week(cli, a, 1) | {"updated_at": None} == first | {"updated_at": None}
    cli.login("dean@uni.edu")
    events = cli.ok("audit", "list", "--entity", "log", "--json").json()[::-1]
    assert events[-1]["action"] == "import"
    assert events[-1]["actor"] == "ana@uni.edu"
    assert events[-1]["after"] == {"created": 0, "updated": 3}


#: (a bad line, the problem it is named with).
BAD_ROWS = [
    ("x1,1,,,,,,,,,", "offering 'x1' is not an offering id"),
    ("999,1,,,,,,,,,", "no offering with id 999"),
    ("{b},1,done,,,,,,,,", "offering {b} is not yours to log"),
    ("{a},9,done,,,,,,,,", "week must be 1..8 for offering {a} (got '9')"),
    ("{a},0,done,,,,,,,,", "week must be 1..8 for offering {a} (got '0')"),
    ("{a},1,finished,,,,,,,,", "formative_one_grading: status must be done, pending or"),
    ("{a},1,,,,,,,,all,sam@uni.edu", "give present or absent, not both"),
    ("{a},1,,,,,,,,,ghost@uni.edu", "not enrolled in offering {a}: ghost@uni.edu"),
    ("{a},1,,,,,,,,,not-an-address", "absent: "),
    ("{a},1,,,,,,,=HYPERLINK(\x1b[31m),,", "notes must not contain control characters"),
]


def test_a_bad_row_is_named_by_its_line_and_nothing_is_written(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    """Every case in one test per database and transport (the setup is the cost)."""
    a, b = offerings["A"], offerings["B"]
    cli.login("ana@uni.edu")
    for line, problem in BAD_ROWS:
        path = write(tmp_path, f"{a},4,done,,,,,,,,", line.format(a=a, b=b))
        refused = cli("tracker", "import", path)
        assert refused.exit_code == 1, refused
        assert f"line 3: {problem.format(a=a, b=b)}" in refused.stderr, line
        assert cli("tracker", "show", "--offering", str(a), "--week", "4").exit_code == 3


def test_the_same_week_twice_and_a_cancelled_offering(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    a, b = offerings["A"], offerings["B"]
    cli.ok("offering", "cancel", str(b), "--yes")
    path = write(tmp_path, f"{a},1,done,,,,,,,,", f"{a},1,pending,,,,,,,,", f"{b},1,done,,,,,,,,")
    refused = cli("tracker", "import", path)
    assert refused.exit_code == 1
    assert f"line 3: week 1 of offering {a} is also on line 2" in refused.stderr
    assert f"line 4: offering {b} is cancelled" in refused.stderr
    assert "error: 2 problem(s) found; nothing was imported" in refused.stderr


def test_who_may_import(cli: Cli, offerings: dict[str, int], tmp_path: Path) -> None:
    path = write(tmp_path, f"{offerings['B']},1,done,,,,,,,,")
    assert cli.ok("tracker", "import", path, "--json").json()["created"] == 1  # a manager
    cli.login("sam@uni.edu")
    assert cli("tracker", "import", path).exit_code == 5
    cli.login("ben@uni.edu")
    assert cli.ok("tracker", "import", path, "--json").json()["updated"] == 1


def test_a_file_that_is_not_a_weeks_sheet(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    missing = cli("tracker", "import", write(tmp_path, "1,2", header="offering,wk"))
    assert missing.exit_code == 1
    assert "missing column(s) week" in missing.stderr
    empty = cli("tracker", "import", write(tmp_path, header=HEADER))
    assert empty.exit_code == 1
    assert "no rows" in empty.stderr
    assert cli("tracker", "import", str(tmp_path / "nope.csv")).exit_code == 1
