"""cms module / cohort / class through the CLI, on SQLite and MariaDB."""

from __future__ import annotations

import pytest
from conftest import Cli


def test_modules(cli: Cli, people: dict[str, str]) -> None:
    added = cli.ok("module", "add", "cs101", "--name", "Intro to Programming", "--credits", "5")
    assert "CS101" in added.stdout
    cli.ok(
        "module", "add", "MA201", "--name", "Algebra", "--credits", "10", "--description", "Linear."
    )
    rows = cli.ok("module", "list", "--json").json()
    assert rows == [
        {
            "code": "CS101",
            "name": "Intro to Programming",
            "credits": 5,
            "description": None,
            "is_active": True,
        },
        {
            "code": "MA201",
            "name": "Algebra",
            "credits": 10,
            "description": "Linear.",
            "is_active": True,
        },
    ]
    assert (
        cli.ok("module", "list", "--csv").stdout.splitlines()[0]
        == "code,name,credits,description,is_active"
    )
    dup = cli("module", "add", "CS101", "--name", "Again", "--credits", "3")
    assert dup.exit_code == 6
    assert "module CS101 already exists" in dup.stderr
    cli.ok("module", "deactivate", "cs101")
    assert [r["code"] for r in cli.ok("module", "list", "--active", "--json").json()] == ["MA201"]
    assert "already inactive" in cli.ok("module", "deactivate", "CS101").stdout
    cli.ok("module", "activate", "CS101")
    assert cli("module", "deactivate", "XX999").exit_code == 3


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["CS", "--name", "N", "--credits", "3"], "3 to 20 characters"),
        (["C" * 21, "--name", "N", "--credits", "3"], "3 to 20 characters"),
        (["CS 101", "--name", "N", "--credits", "3"], "only letters"),
        (["CS101", "--name", "N", "--credits", "0"], "credits must be 1 to 10"),
        (["CS101", "--name", "N", "--credits", "11"], "credits must be 1 to 10"),
        (["CS101", "--name", " ", "--credits", "3"], "module name"),
    ],
)
def test_module_validation(cli: Cli, manager: str, args: list[str], text: str) -> None:
    result = cli("module", "add", *args)
    assert result.exit_code == 1, result
    assert text in result.stderr
    assert cli.ok("module", "list", "--json").json() == []


def test_credits_must_be_a_number(cli: Cli, manager: str) -> None:
    assert cli("module", "add", "CS101", "--name", "N", "--credits", "many").exit_code == 2


def test_cohorts(cli: Cli, manager: str) -> None:
    cli.ok("cohort", "add", "Cohort 2026 A", "--start", "2026-01-12", "--end", "2027-12-17")
    rows = cli.ok("cohort", "list", "--json").json()
    assert rows == [
        {
            "name": "Cohort 2026 A",
            "start_date": "2026-01-12",
            "end_date": "2027-12-17",
            "is_active": True,
        }
    ]
    dup = cli("cohort", "add", "cohort  2026 a")
    assert dup.exit_code == 6  # names are compared case- and space-insensitively
    assert cli("cohort", "add", "AB").exit_code == 1
    assert cli("cohort", "add", "X" * 51).exit_code == 1
    backwards = cli("cohort", "add", "Backwards", "--start", "2026-05-01", "--end", "2026-04-01")
    assert backwards.exit_code == 1
    assert "error: --end 2026-04-01 is before --start 2026-05-01" in backwards.stderr
    bad = cli("cohort", "add", "Bad date", "--start", "2026-13-01")
    assert bad.exit_code == 1  # an invalid value, said once, naming the option
    assert bad.stderr == "error: --start: 2026-13-01 is not a day of the calendar\n"
    cli.ok("cohort", "deactivate", "COHORT 2026 A")
    assert cli.ok("cohort", "list", "--inactive", "--json").json()[0]["is_active"] is False


def test_classes(cli: Cli, manager: str) -> None:
    cli.ok("class", "add", "2026j", "--year", "2026", "--trimester", "1", "--intake", "ft")
    assert cli.ok("class", "list", "--json").json() == [
        {"code": "2026J", "year": 2026, "trimester": 1, "intake": "FT", "is_active": True}
    ]
    for args, text in (
        (["2026K", "--year", "2026", "--trimester", "4", "--intake", "FT"], "trimester"),
        (["2026K", "--year", "1999", "--trimester", "1", "--intake", "FT"], "year"),
        (["2026K", "--year", "2026", "--trimester", "1", "--intake", "PT"], "intake"),
    ):
        result = cli("class", "add", *args)
        assert result.exit_code == 1, result
        assert text in result.stderr
    assert (
        cli(
            "class", "add", "2026J", "--year", "2026", "--trimester", "2", "--intake", "HT1"
        ).exit_code
        == 6
    )


def test_everyone_reads_only_managers_write(cli: Cli, people: dict[str, str]) -> None:
    cli.ok("module", "add", "CS101", "--name", "Intro", "--credits", "5")
    cli.login("sam@uni.edu")
    assert cli.ok("module", "list", "--json").json()[0]["code"] == "CS101"
    assert cli.ok("cohort", "list", "--json").json() == []
    assert cli("module", "add", "CS102", "--name", "X", "--credits", "5").exit_code == 5
    assert (
        cli(
            "class", "add", "2026J", "--year", "2026", "--trimester", "1", "--intake", "FT"
        ).exit_code
        == 5
    )
    assert cli("cohort", "deactivate", "whatever").exit_code == 5
    cli("auth", "logout")
    assert cli("module", "list").exit_code == 4


def test_catalog_writes_are_audited(cli: Cli, manager: str) -> None:
    cli.ok("module", "add", "CS101", "--name", "Intro", "--credits", "5")
    cli.ok("module", "deactivate", "CS101")
    events = cli.ok("audit", "list", "--entity", "module", "--json").json()[::-1]
    assert [(e["action"], e["entity_id"]) for e in events] == [
        ("create", "CS101"),
        ("deactivate", "CS101"),
    ]


@pytest.mark.parametrize(
    ("group", "fields"),
    [
        ("module", ["code", "name", "credits", "description", "is_active"]),
        ("cohort", ["name", "start_date", "end_date", "is_active"]),
        ("class", ["code", "year", "trimester", "intake", "is_active"]),
    ],
)
def test_listings_are_the_public_models_in_the_contracts_order(
    cli: Cli, manager: str, group: str, fields: list[str]
) -> None:
    """The JSON and CSV fields of each catalog listing are its Public model's, and those
    are the contract's (the lists here)."""
    from cms_cli.catalog import service

    kind = {"module": service.MODULE, "cohort": service.COHORT, "class": service.CLASS}[group]
    assert list(kind.public.model_fields) == fields
    cli.ok("module", "add", "CS101", "--name", "Intro", "--credits", "5")
    cli.ok("cohort", "add", "Cohort A")
    cli.ok("class", "add", "2026J", "--year", "2026", "--trimester", "1", "--intake", "FT")
    shown = cli.ok(group, "list", "--json").json()
    assert [list(row) for row in shown] == [fields]
    assert cli.ok(group, "list", "--csv").stdout.splitlines()[0] == ",".join(fields)
