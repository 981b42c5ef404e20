"""cms offering copy: a class's offerings into another class, all or nothing."""

from __future__ import annotations

from typing import Any

from conftest import Cli, create


def listing(cli: Cli, klass: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = cli.ok(
        "offering", "list", "--class", klass, "--all", "--json"
    ).json()
    return data


def copy(cli: Cli, *args: str) -> Any:
    return cli("offering", "copy", "--from-class", "2026J", "--to-class", "2027J", *args)


def term_to_copy(cli: Cli) -> dict[str, int]:
    """2026J: CS101 online (Ana, from Mon 5 Jan, capacity 25), MA201 hybrid (Ben, from
    Mon 12 Jan) and a cancelled one; 2027J, trimester 1, is empty."""
    cli.ok("class", "add", "2027J", "--year", "2027", "--trimester", "1", "--intake", "FT")
    a = create(
        cli,
        "--facilitator",
        "ana@uni.edu",
        "--max-students",
        "25",
        start="2026-01-05",
        end="2026-02-27",
    )
    b = create(
        cli,
        "--facilitator",
        "ben@uni.edu",
        module="MA201",
        mode="hybrid",
        start="2026-01-12",
        end="2026-03-06",
    )
    gone = create(cli, module="MA201", mode="online")
    cli.ok("offering", "cancel", str(gone), "--yes")
    return {"A": a, "B": b, "cancelled": gone}


def test_a_copy_moves_the_dates_a_year_on_and_keeps_the_rest(
    cli: Cli, term: dict[str, str]
) -> None:
    term_to_copy(cli)
    dry = copy(cli, "--dry-run")
    assert dry.exit_code == 0, dry
    assert "2 offering(s) checked, all valid: 2 would be created in 2027J" in dry.stdout
    assert listing(cli, "2027J") == []
    done = copy(cli, "--json")
    assert done.exit_code == 0, done
    report = done.json()
    assert (report["created"], report["checked"], report["dry_run"]) == (2, 2, False)
    assert (report["first_start"], report["shift_days"]) == ("2027-01-04", 364)
    copies = listing(cli, "2027J")
    assert [(c["module"], c["mode"], c["cohort"], c["manager"]) for c in copies] == [
        ("CS101", "online", "Cohort A", "dean@uni.edu"),
        ("MA201", "hybrid", "Cohort A", "dean@uni.edu"),
    ]
    assert [(c["start_date"], c["end_date"]) for c in copies] == [
        ("2027-01-04", "2027-02-26"),  # Mondays to Fridays, as before
        ("2027-01-11", "2027-03-05"),
    ]
    assert [c["facilitator"] for c in copies] == [None, None]
    assert copies[0]["max_students"] == 25
    assert [c["id"] for c in copies] == [pair["to"] for pair in report["copies"]]


def test_facilitators_are_kept_only_when_asked_and_within_the_load_rule(
    cli: Cli, term: dict[str, str]
) -> None:
    term_to_copy(cli)
    cli.ok("class", "add", "2027K", "--year", "2027", "--trimester", "1", "--intake", "HT1")
    # Ana already holds an offering over the copied dates: with max_load 1, no room.
    create(cli, "--facilitator", "ana@uni.edu", klass="2027K", start="2027-01-04", end="2027-02-26")
    cli.env["CMS_MAX_LOAD"] = "1"
    refused = copy(cli, "--keep-facilitators")
    assert refused.exit_code == 1
    assert "offering 1: ana@uni.edu already holds 1 offering(s) overlapping" in refused.stderr
    assert "error: 1 problem(s) found; nothing was copied" in refused.stderr
    assert listing(cli, "2027J") == []  # not even Ben's
    cli.env["CMS_MAX_LOAD"] = "2"
    assert copy(cli, "--keep-facilitators").exit_code == 0
    assert [c["facilitator"] for c in listing(cli, "2027J")] == ["ana@uni.edu", "ben@uni.edu"]


def test_every_problem_is_named_and_nothing_is_copied(cli: Cli, term: dict[str, str]) -> None:
    offerings = term_to_copy(cli)
    create(cli, klass="2027J", start="2027-01-04", end="2027-02-26")  # CS101 online taken
    cli.ok("module", "deactivate", "MA201")
    refused = copy(cli)
    assert refused.exit_code == 1
    a, b = offerings["A"], offerings["B"]
    assert f"offering {a}: CS101 for class 2027J, cohort Cohort A, mode online exists" in (
        refused.stderr
    )
    assert f"offering {b}: module MA201 is deactivated" in refused.stderr
    assert [c["module"] for c in listing(cli, "2027J")] == ["CS101"]  # only the old one


def test_a_cohort_and_a_start_may_be_given(cli: Cli, term: dict[str, str]) -> None:
    term_to_copy(cli)
    done = cli.ok(
        "offering",
        "copy",
        "--from-class",
        "2026J",
        "--to-class",
        "2026K",
        "--cohort",
        "cohort b",
        "--start",
        "2026-05-04",
        "--json",
    ).json()
    assert (done["first_start"], done["shift_days"]) == ("2026-05-04", 119)
    copies = listing(cli, "2026K")
    assert {c["cohort"] for c in copies} == {"Cohort B"}
    assert [c["start_date"] for c in copies] == ["2026-05-04", "2026-05-11"]


def test_refusals_before_any_work(cli: Cli, term: dict[str, str]) -> None:
    term_to_copy(cli)
    cases = [
        (("--from-class", "2026J", "--to-class", "2026K"), 2, "give --start DATE"),
        (("--from-class", "2026J", "--to-class", "2026j"), 2, "name the same class"),
        (("--from-class", "2026J", "--to-class", "1999X"), 3, "unknown class '1999X'"),
        (("--from-class", "2026K", "--to-class", "2027J"), 1, "has no offering to copy"),
        (
            ("--from-class", "2026J", "--to-class", "2027J", "--cohort", "Nope"),
            3,
            "unknown cohort 'Nope'",
        ),
        (
            ("--from-class", "2026J", "--to-class", "2027J", "--start", "2027-13-01"),
            1,
            "--start",
        ),
    ]
    for args, code, words in cases:
        result = cli("offering", "copy", *args)
        assert result.exit_code == code, result
        assert words in result.stderr, result
    cli.login("ana@uni.edu")
    assert copy(cli).exit_code == 5
    cli.login("dean@uni.edu")
    assert listing(cli, "2027J") == []
