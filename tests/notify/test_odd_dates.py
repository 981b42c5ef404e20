"""Offering dates are bounded at input, and one odd row stored before the bounds (or by
another tool) never stops the sweep, the report or the lists for everybody else."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Cli, create, sql

from cms_cli.core import limits

ODD = [
    ("2026-01-05", "2206-02-27"),  # an end year typed as 2206
    ("0001-01-01", "9999-12-31"),  # the widest dates a date column holds
    ("9999-12-25", "9999-12-31"),  # a week whose deadline would overflow
    ("2026-03-01", "2026-01-01"),  # end before start
]


def _store_odd(db_url: str, offering_id: int, start: str, end: str) -> None:
    sql(
        db_url,
        "UPDATE offering SET start_date = :s, end_date = :e WHERE id = :i",
        {"s": start, "e": end, "i": offering_id},
    )


@pytest.mark.parametrize(("start", "end"), ODD)
def test_one_odd_offering_never_stops_the_sweep_report_or_lists(
    cli: Cli, logged: dict[str, int], db_url: str, start: str, end: str
) -> None:
    odd = create(cli, "--facilitator", "ben@uni.edu", cohort="Cohort B")
    _store_odd(db_url, odd, start, end)
    swept = cli("notify", "sweep", "--json")
    assert swept.exit_code == 0, swept
    # the others are swept as ever (the term of test_sweep_cli: 3 + 3); the odd one
    # has at most its first 104 weeks tracked (an end typed as 2206), or none
    others = [r for r in cli.ok("notify", "list", "--json").json() if r["offering_id"] != odd]
    assert len(others) == 6
    odd_rows = [r for r in cli.ok("notify", "list", "--json").json() if r["offering_id"] == odd]
    assert all(r["week"] <= limits.MAX_WEEKS for r in odd_rows)
    if start < "2000":
        assert odd_rows == []
    assert cli("notify", "sweep", "--dry-run", "--json").exit_code == 0
    report = cli("tracker", "report", "--json")
    assert report.exit_code == 0, report
    row = next(o for o in report.json()["offerings"] if o["id"] == odd)
    assert len(row["weeks"]) <= limits.MAX_WEEKS
    for status in ("overdue", "missing"):
        listed = cli("tracker", "list", "--status", status, "--json")
        assert listed.exit_code == 0, listed
    assert cli("tracker", "report").exit_code == 0
    assert cli("offering", "show", str(odd), "--json").exit_code == 0
    assert cli("offering", "list", "--all", "--json").exit_code == 0


BAD_DATES = [
    ("2026-01-05", "2206-02-27", "2206"),
    ("1999-12-27", "2000-02-27", "1999"),
    ("2026-01-05", "2028-01-10", "weeks"),
    ("2026-03-05", "2026-01-10", "before"),
]


@pytest.mark.parametrize(("start", "end", "text"), BAD_DATES)
def test_offering_dates_are_bounded_in_create_update_and_import(
    cli: Cli, offerings: dict[str, int], tmp_path: Path, start: str, end: str, text: str
) -> None:
    created = cli(
        *("offering", "create", "--module", "CS101", "--class", "2026K", "--cohort"),
        *("Cohort B", "--mode", "hybrid", "--start", start, "--end", end),
    )
    assert created.exit_code == 1, created
    assert text in created.stderr
    updated = cli("offering", "update", str(offerings["A"]), "--start", start, "--end", end)
    assert updated.exit_code == 1, updated
    assert text in updated.stderr
    file = tmp_path / "o.csv"
    file.write_text(
        f"module,class,cohort,mode,start_date,end_date\nCS101,2026K,Cohort B,hybrid,{start},{end}\n"
    )
    imported = cli("offering", "import", str(file))
    assert imported.exit_code == 1, imported
    assert imported.stderr.startswith("line 2: ")
    assert text in imported.stderr
    assert len(cli.ok("offering", "list", "--all", "--json").json()) == 2


def test_the_longest_offering_allowed_is_swept_in_full(cli: Cli, term: dict[str, str]) -> None:
    """104 weeks from 2024-01-29: every week due by now is reminded (the CTE reaches the
    last one; nothing was cut at an arbitrary length)."""
    longest = create(cli, "--facilitator", "ana@uni.edu", start="2024-01-29", end="2026-01-25")
    shown = cli.ok("offering", "show", str(longest), "--json").json()
    assert shown["weeks"] == limits.MAX_WEEKS
    swept = cli.ok("notify", "sweep", "--json").json()
    assert swept["reminders"] == limits.MAX_WEEKS
    weeks = {
        r["week"] for r in cli.ok("notify", "list", "--json").json() if r["kind"] == "reminder"
    }
    assert weeks == set(range(1, limits.MAX_WEEKS + 1))
