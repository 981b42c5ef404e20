"""cms tracker report --by facilitator|module|week: the matrix summed per group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Cli


def totals(cli: Cli, by: str, *args: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = cli.ok("tracker", "report", "--by", by, *args, "--json").json()
    return data


def test_totals_per_facilitator_module_and_week(cli: Cli, logged: dict[str, int]) -> None:
    # Now is 1 Feb 2026: A (ana, from 5 Jan) has weeks 1-3 due: 1 complete, 2 a log
    # that is not complete, 3 no log. B (ben, from 12 Jan) has weeks 1-2 due: 1
    # complete, 2 no log.
    matrix = cli.ok("tracker", "report", "--json").json()
    by_facilitator = totals(cli, "facilitator")
    assert by_facilitator == [
        {
            "facilitator": "ana@uni.edu",
            "offerings": 1,
            "due": 3,
            "complete": 1,
            "late": 1,
            "missing": 1,
            "rate": 33.3,
        },
        {
            "facilitator": "ben@uni.edu",
            "offerings": 1,
            "due": 2,
            "complete": 1,
            "late": 0,
            "missing": 1,
            "rate": 50.0,
        },
    ]
    assert sum(r["due"] for r in by_facilitator) == matrix["expected"]
    assert sum(r["complete"] for r in by_facilitator) == matrix["complete"]
    assert [r["module"] for r in totals(cli, "module")] == ["CS101", "MA201"]
    weeks = totals(cli, "WEEK")
    assert [r["week"] for r in weeks][:3] == [1, 2, 3]
    assert weeks[0] == {
        "week": 1,
        "offerings": 2,
        "due": 2,
        "complete": 2,
        "late": 0,
        "missing": 0,
        "rate": 100.0,
    }
    assert weeks[-1]["rate"] is None  # a week nobody is due yet
    csv = cli.ok("tracker", "report", "--by", "module", "--csv").stdout.splitlines()
    assert csv[0] == "module,offerings,due,complete,late,missing,rate"
    human = cli.ok("tracker", "report", "--by", "week").stdout
    assert "nothing due" in human


def test_filters_apply_and_bad_uses_are_refused(
    cli: Cli, logged: dict[str, int], tmp_path: Path
) -> None:
    assert [r["module"] for r in totals(cli, "module", "--module", "MA201")] == ["MA201"]
    assert totals(cli, "facilitator", "--module", "XX999") == []
    wrong = cli("tracker", "report", "--by", "day")
    assert wrong.exit_code == 2
    assert "--by must be facilitator, module or week (got 'day')" in wrong.stderr
    page = tmp_path / "x.html"
    both = cli("tracker", "report", "--by", "nothing", "--html", str(page))
    assert both.exit_code == 2
    assert not page.exists()
    cli.login("ana@uni.edu")
    assert cli("tracker", "report", "--by", "week").exit_code == 5


@pytest.mark.parametrize("by", ["facilitator", "module", "week"])
def test_an_offering_without_a_facilitator_is_its_own_group(
    cli: Cli, logged: dict[str, int], by: str
) -> None:
    cli.ok("offering", "update", str(logged["B"]), "--no-facilitator")
    rows = totals(cli, by)
    if by == "facilitator":
        assert rows[-1]["facilitator"] is None
        assert "—" in cli.ok("tracker", "report", "--by", by).stdout
    assert sum(r["due"] for r in rows) == 5
