"""cms offering create / list / show / update / cancel, on SQLite and MariaDB."""

from __future__ import annotations

import pytest
from conftest import Cli, create

from cms_cli.core.output import columns
from cms_cli.offerings.models import OfferingPublic

#: The contract's fields, in order: the Public model's.
FIELDS = list(columns(OfferingPublic))


def test_create_and_show(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli, "--facilitator", "ANA@uni.edu", "--max-students", "30")
    shown = cli.ok("offering", "show", str(offering_id), "--json").json()
    assert list(shown) == FIELDS
    assert shown == {
        **shown,
        "module": "CS101",
        "module_name": "Intro to Programming",
        "class": "2026J",
        "year": 2026,
        "trimester": 1,
        "intake": "FT",
        "cohort": "Cohort A",
        "mode": "online",
        "facilitator": "ana@uni.edu",
        "manager": "dean@uni.edu",
        "start_date": "2026-01-12",
        "end_date": "2026-04-03",
        "weeks": 12,
        "max_students": 30,
        "enrolled": 0,
        "status": "active",
    }
    human = cli.ok(
        "offering",
        "create",
        "--module",
        "MA201",
        "--class",
        "2026K",
        "--cohort",
        "Cohort B",
        "--mode",
        "hybrid",
        "--start",
        "2026-05-04",
        "--end",
        "2026-07-24",
    )
    assert human.stdout.startswith("Created offering ")


@pytest.mark.parametrize(
    ("start", "end", "weeks"),
    [
        ("2026-01-12", "2026-01-18", 1),
        ("2026-01-12", "2026-01-19", 2),
        ("2026-01-12", "2026-01-12", 1),
        ("2026-01-12", "2026-04-05", 12),
        ("2026-01-12", "2026-04-06", 13),
    ],
)
def test_weeks_are_rounded_up(
    cli: Cli, term: dict[str, str], start: str, end: str, weeks: int
) -> None:
    offering_id = create(cli, start=start, end=end)
    assert cli.ok("offering", "show", str(offering_id), "--json").json()["weeks"] == weeks


def test_status_follows_the_dates(cli: Cli, term: dict[str, str]) -> None:
    planned = create(cli, start="2026-03-02", end="2026-05-22")
    active = create(cli, mode="hybrid")
    done = create(cli, mode="in-person", start="2025-09-01", end="2025-12-12")
    statuses = {r["id"]: r["status"] for r in cli.ok("offering", "list", "--json").json()}
    assert statuses == {planned: "planned", active: "active", done: "completed"}
    june = {"CMS_NOW": "2026-06-01T00:00:00+00:00"}
    cli.login("dean@uni.edu", env=june)
    later = cli.ok("offering", "list", "--json", env=june).json()
    assert {r["status"] for r in later} == {"completed"}
    # back to February: a session issued in June is in the future of that clock
    assert cli("offering", "list").exit_code == 4
    cli.login("dean@uni.edu")
    for status, expected in (("planned", [planned]), ("active", [active]), ("completed", [done])):
        rows = cli.ok("offering", "list", "--status", status, "--json").json()
        assert [r["id"] for r in rows] == expected


def test_status_uses_the_institution_time_zone(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli, start="2026-02-02", end="2026-03-01")
    # 23:30 UTC on Feb 1 is already Feb 2 in Auckland.
    env = {"CMS_NOW": "2026-02-01T23:30:00+00:00"}
    assert (
        cli.ok("offering", "show", str(offering_id), "--json", env=env).json()["status"]
        == "planned"
    )
    env["CMS_TIMEZONE"] = "Pacific/Auckland"
    assert (
        cli.ok("offering", "show", str(offering_id), "--json", env=env).json()["status"] == "active"
    )


def test_filters(cli: Cli, term: dict[str, str]) -> None:
    a = create(cli, "--facilitator", "ana@uni.edu")
    b = create(
        cli,
        "--facilitator",
        "ben@uni.edu",
        module="MA201",
        klass="2026K",
        cohort="Cohort B",
        mode="hybrid",
    )
    c = create(cli, mode="in-person", cohort="Cohort B")

    def ids(*args: str) -> list[int]:
        return [r["id"] for r in cli.ok("offering", "list", "--json", *args).json()]

    assert ids() == [a, b, c]
    assert ids("--trimester", "2") == [b]
    assert ids("--intake", "ht1") == [b]
    assert ids("--cohort", "cohort b") == [b, c]
    assert ids("--facilitator", "ana@uni.edu") == [a]
    assert ids("--mode", "in-person") == [c]
    assert ids("--module", "ma201") == [b]
    assert ids("--class", "2026J") == [a, c]
    assert ids("--year", "2026") == [a, b, c]
    assert ids("--year", "2025") == []
    assert ids("--cohort", "Cohort B", "--mode", "hybrid") == [b]
    csv_lines = cli.ok("offering", "list", "--csv").stdout.splitlines()
    assert csv_lines[0] == ",".join(FIELDS)
    assert len(csv_lines) == 4
    table = cli.ok("offering", "list", env={"COLUMNS": "200"}).stdout
    assert "CS101" in table
    assert "MA201" in table


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--trimester", "4"], 1),
        (["--intake", "PT"], 1),
        (["--mode", "telepathy"], 1),
        (["--status", "asleep"], 1),
        (["--facilitator", "nope"], 1),
        (["--trimester", "x"], 2),
    ],
)
def test_bad_filters(cli: Cli, term: dict[str, str], args: list[str], code: int) -> None:
    result = cli("offering", "list", *args)
    assert result.exit_code == code, result


def test_who_sees_what(cli: Cli, term: dict[str, str]) -> None:
    mine = create(cli, "--facilitator", "ana@uni.edu")
    other = create(cli, "--facilitator", "ben@uni.edu", mode="hybrid")
    cli.ok("offering", "enrol", str(other), "--student", "sam@uni.edu")
    cli.login("ana@uni.edu")
    assert [r["id"] for r in cli.ok("offering", "list", "--json").json()] == [mine]
    assert cli.ok("offering", "show", str(mine)).exit_code == 0
    assert cli("offering", "show", str(other)).exit_code == 5
    assert cli("offering", "show", "9999").exit_code == 3
    cli.login("sam@uni.edu")
    assert [r["id"] for r in cli.ok("offering", "list", "--json").json()] == [other]
    assert cli("offering", "show", str(mine)).exit_code == 5
    cli.login("sue@uni.edu")
    assert cli.ok("offering", "list", "--json").json() == []


def test_only_managers_write(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli, "--facilitator", "ana@uni.edu")
    cli.login("ana@uni.edu")
    base = [
        "--module",
        "CS101",
        "--class",
        "2026J",
        "--cohort",
        "Cohort B",
        "--mode",
        "online",
        "--start",
        "2026-01-12",
        "--end",
        "2026-04-03",
    ]
    for args in (
        ["offering", "create", *base],
        ["offering", "update", str(offering_id), "--max-students", "5"],
        ["offering", "cancel", str(offering_id), "--yes"],
        ["offering", "enrol", str(offering_id), "--student", "sam@uni.edu"],
        ["offering", "unenrol", str(offering_id), "--student", "sam@uni.edu"],
    ):
        result = cli(*args)
        assert result.exit_code == 5, result


def test_unique_offering(cli: Cli, term: dict[str, str]) -> None:
    create(cli)
    dup = cli(
        "offering",
        "create",
        "--module",
        "cs101",
        "--class",
        "2026j",
        "--cohort",
        "cohort a",
        "--mode",
        "online",
        "--start",
        "2026-02-01",
        "--end",
        "2026-03-01",
    )
    assert dup.exit_code == 6
    assert (
        "an offering of CS101 for class 2026J, cohort Cohort A, mode online already exists"
        in dup.stderr
    )
    assert len(cli.ok("offering", "list", "--json").json()) == 1


#: (options changed from a good create, exit code, what the error says).
BAD_CREATES = [
    ({"--end": "2026-01-01"}, 1, "error: --end 2026-01-01 is before --start 2026-01-12"),
    ({"--mode": "carrier-pigeon"}, 1, "mode must be"),
    ({"--max-students": "0"}, 1, "max_students"),
    ({"--module": "XX999"}, 3, "unknown module"),
    ({"--class": "1999Z"}, 3, "unknown class"),
    ({"--cohort": "Nobody"}, 3, "unknown cohort"),
    ({"--facilitator": "ghost@uni.edu"}, 3, "ghost@uni.edu"),
    ({"--facilitator": "sam@uni.edu"}, 1, "is a student, not a facilitator"),
    ({"--manager": "ana@uni.edu"}, 1, "not a manager"),
    ({"--start": "2026-02-30"}, 1, "error: --start: 2026-02-30 is not a day of the calendar"),
    ({"--start": "12/01/2027"}, 1, "error: --start: expected YYYY-MM-DD, got 12/01/2027"),
]


def test_create_rejects_bad_input(cli: Cli, term: dict[str, str]) -> None:
    """Every case in one test per database and transport (the setup is the cost)."""
    for change, code, text in BAD_CREATES:
        values = {
            "--module": "CS101",
            "--class": "2026J",
            "--cohort": "Cohort A",
            "--mode": "online",
            "--start": "2026-01-12",
            "--end": "2026-04-03",
            **change,
        }
        args = [part for pair in values.items() for part in pair]
        result = cli("offering", "create", *args)
        assert result.exit_code == code, result
        assert text in result.stderr, change
    assert cli.ok("offering", "list", "--json", "--all").json() == []


def test_deactivated_catalog_entries_refuse_new_offerings(cli: Cli, term: dict[str, str]) -> None:
    cli.ok("module", "deactivate", "CS101")
    result = cli(
        "offering",
        "create",
        "--module",
        "CS101",
        "--class",
        "2026J",
        "--cohort",
        "Cohort A",
        "--mode",
        "online",
        "--start",
        "2026-01-12",
        "--end",
        "2026-04-03",
    )
    assert result.exit_code == 1
    assert "module CS101 is deactivated" in result.stderr


def test_manager_defaults_to_the_creator_and_can_be_set(cli: Cli, term: dict[str, str]) -> None:
    a = create(cli)
    b = create(cli, "--manager", "boss@uni.edu", mode="hybrid")
    rows = {r["id"]: r["manager"] for r in cli.ok("offering", "list", "--json").json()}
    assert rows == {a: "dean@uni.edu", b: "boss@uni.edu"}


def test_facilitator_load(cli: Cli, term: dict[str, str]) -> None:
    env = {"CMS_MAX_LOAD": "2"}
    create(cli, "--facilitator", "ana@uni.edu")
    cli.env.update(env)
    create(cli, "--facilitator", "ana@uni.edu", mode="hybrid")
    third = cli(
        "offering",
        "create",
        "--module",
        "MA201",
        "--class",
        "2026J",
        "--cohort",
        "Cohort A",
        "--mode",
        "online",
        "--start",
        "2026-03-01",
        "--end",
        "2026-05-01",
        "--facilitator",
        "ana@uni.edu",
    )
    assert third.exit_code == 6
    assert "ana@uni.edu already holds 2 offering(s) overlapping" in third.stderr
    assert "max_load 2" in third.stderr
    # Not overlapping: fine.
    create(
        cli, "--facilitator", "ana@uni.edu", module="MA201", start="2026-05-04", end="2026-07-24"
    )
    # Assigning by update is checked too.
    free = create(cli, module="MA201", mode="hybrid")
    assigned = cli("offering", "update", str(free), "--facilitator", "ana@uni.edu")
    assert assigned.exit_code == 6
    # A cancelled offering does not count.
    first = cli.ok("offering", "list", "--facilitator", "ana@uni.edu", "--json").json()[0]["id"]
    cli.ok("offering", "cancel", str(first), "--yes")
    cli.ok("offering", "update", str(free), "--facilitator", "ana@uni.edu")


def test_update(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli, "--facilitator", "ana@uni.edu", "--max-students", "30")
    cli.ok(
        "offering",
        "update",
        str(offering_id),
        "--facilitator",
        "ben@uni.edu",
        "--max-students",
        "40",
        "--end",
        "2026-04-10",
        "--mode",
        "hybrid",
        "--manager",
        "boss@uni.edu",
    )
    shown = cli.ok("offering", "show", str(offering_id), "--json").json()
    assert (
        shown["facilitator"],
        shown["max_students"],
        shown["end_date"],
        shown["mode"],
        shown["manager"],
    ) == ("ben@uni.edu", 40, "2026-04-10", "hybrid", "boss@uni.edu")
    assert shown["weeks"] == 13
    cli.ok("offering", "update", str(offering_id), "--no-facilitator")
    assert cli.ok("offering", "show", str(offering_id), "--json").json()["facilitator"] is None
    assert cli("offering", "update", str(offering_id)).exit_code == 1  # nothing to change
    assert cli("offering", "update", str(offering_id), "--start", "2026-05-01").exit_code == 1
    assert cli("offering", "update", "999", "--max-students", "3").exit_code == 3
    both = cli(
        "offering", "update", str(offering_id), "--facilitator", "ana@uni.edu", "--no-facilitator"
    )
    assert both.exit_code == 1
    events = cli.ok("audit", "list", "--entity", "offering", "--json").json()[::-1]
    update = next(e for e in events if e["action"] == "update")
    assert update["before"]["facilitator"] == "ana@uni.edu"
    assert update["after"]["facilitator"] == "ben@uni.edu"


def test_update_into_a_duplicate_conflicts(cli: Cli, term: dict[str, str]) -> None:
    create(cli)
    other = create(cli, mode="hybrid")
    result = cli("offering", "update", str(other), "--mode", "online")
    assert result.exit_code == 6
    assert cli.ok("offering", "show", str(other), "--json").json()["mode"] == "hybrid"


def test_max_students_below_enrolment_is_refused(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli)
    cli.ok(
        "offering",
        "enrol",
        str(offering_id),
        "--student",
        "sam@uni.edu",
        "--student",
        "sue@uni.edu",
    )
    result = cli("offering", "update", str(offering_id), "--max-students", "1")
    assert result.exit_code == 1
    assert "2 students are enrolled" in result.stderr


def test_cancel_and_reinstate(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli)
    assert cli("offering", "cancel", str(offering_id)).exit_code == 2  # no --yes off a TTY
    cli.ok("offering", "cancel", str(offering_id), "--yes")
    assert cli.ok("offering", "list", "--json").json() == []
    assert [r["status"] for r in cli.ok("offering", "list", "--all", "--json").json()] == [
        "cancelled"
    ]
    assert [
        r["id"] for r in cli.ok("offering", "list", "--status", "cancelled", "--json").json()
    ] == [offering_id]
    assert "already cancelled" in cli.ok("offering", "cancel", str(offering_id), "--yes").stdout
    assert cli("offering", "cancel", "999", "--yes").exit_code == 3
    wrong = cli("offering", "update", str(offering_id), "--status", "planned")
    assert wrong.exit_code == 1
    assert "would be active" in wrong.stderr
    cli.ok("offering", "update", str(offering_id), "--status", "active")
    assert cli.ok("offering", "show", str(offering_id), "--json").json()["status"] == "active"
    cli.ok("offering", "update", str(offering_id), "--status", "cancelled")
    assert cli.ok("offering", "show", str(offering_id), "--json").json()["status"] == "cancelled"
    actions = [
        e["action"] for e in cli.ok("audit", "list", "--entity", "offering", "--json").json()[::-1]
    ]
    assert actions == ["create", "cancel", "update", "update"]


def test_concurrent_allocations_respect_the_load(cli: Cli, term: dict[str, str]) -> None:
    """Four processes give Ana an overlapping offering at once; max_load 2 lets two through."""
    combos = [("CS101", "online"), ("CS101", "hybrid"), ("MA201", "online"), ("MA201", "hybrid")]
    base = [
        "--class",
        "2026J",
        "--cohort",
        "Cohort A",
        "--start",
        "2026-01-12",
        "--end",
        "2026-04-03",
    ]
    procs = [
        cli.spawn(
            "offering",
            "create",
            "--module",
            module,
            "--mode",
            mode,
            *base,
            "--facilitator",
            "ana@uni.edu",
            env={"CMS_MAX_LOAD": "2"},
        )
        for module, mode in combos
    ]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes == [0, 0, 6, 6]
    assert len(cli.ok("offering", "list", "--facilitator", "ana@uni.edu", "--json").json()) == 2
