"""cms offering import: checked first, all rows or none, line numbers, junk files."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Cli, create

HEADER = "module,class,cohort,mode,facilitator,start_date,end_date,max_students\n"
GOOD = HEADER + (
    "CS101,2026J,Cohort A,online,ana@uni.edu,2026-01-12,2026-04-03,30\n"
    "CS101,2026J,Cohort A,hybrid,,2026-01-12,2026-04-03,\n"
    "ma201,2026k,cohort b,In-Person,ben@uni.edu,2026-05-04,2026-07-24,25\n"
)


def write(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "offerings.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_creates_every_row(cli: Cli, term: dict[str, str], tmp_path: Path) -> None:
    result = cli.ok("offering", "import", write(tmp_path, GOOD), "--json")
    assert result.json() == {"created": 3, "checked": 3, "dry_run": False}
    rows = cli.ok("offering", "list", "--json").json()
    assert [
        (r["module"], r["mode"], r["facilitator"], r["max_students"], r["manager"]) for r in rows
    ] == [
        ("CS101", "online", "ana@uni.edu", 30, "dean@uni.edu"),
        ("CS101", "hybrid", None, None, "dean@uni.edu"),
        ("MA201", "in-person", "ben@uni.edu", 25, "dean@uni.edu"),
    ]
    events = cli.ok("audit", "list", "--entity", "offering", "--json").json()
    assert [(e["action"], e["after"]) for e in events] == [("import", {"created": 3})]
    human = cli.ok(
        "offering",
        "import",
        write(tmp_path, HEADER + "CS101,2026K,Cohort A,online,,2026-05-04,2026-07-24,\n"),
    )
    assert human.stdout == "Created 1 offering(s).\n"


def test_dry_run_writes_nothing(cli: Cli, term: dict[str, str], tmp_path: Path) -> None:
    result = cli.ok("offering", "import", write(tmp_path, GOOD), "--dry-run")
    assert "3 offering(s) would be created" in result.stdout
    assert cli.ok("offering", "list", "--json").json() == []
    assert cli.ok("offering", "import", write(tmp_path, GOOD), "--dry-run", "--json").json() == {
        "created": 0,
        "checked": 3,
        "dry_run": True,
    }


def test_every_problem_is_reported_with_its_line_and_nothing_written(
    cli: Cli, term: dict[str, str], tmp_path: Path
) -> None:
    create(cli, mode="in-person")  # already in the database
    text = HEADER + (
        "CS101,2026J,Cohort A,online,ana@uni.edu,2026-01-12,2026-04-03,30\n"  # 2 ok
        "XX999,2026J,Cohort A,online,,2026-01-12,2026-04-03,\n"  # 3 unknown module
        "CS101,1999Z,Cohort A,online,,2026-01-12,2026-04-03,\n"  # 4 unknown class
        "CS101,2026J,Nobody,online,,2026-01-12,2026-04-03,\n"  # 5 unknown cohort
        "CS101,2026J,Cohort A,telepathy,,2026-01-12,2026-04-03,\n"  # 6 bad mode
        "CS101,2026J,Cohort A,hybrid,,2026-04-12,2026-04-03,\n"  # 7 end before start
        "CS101,2026J,Cohort A,hybrid,,12/01/2026,2026-04-03,\n"  # 8 bad date
        "CS101,2026J,Cohort A,hybrid,,2026-01-12,2026-04-03,-4\n"  # 9 bad capacity
        "CS101,2026J,Cohort A,hybrid,ghost@uni.edu,2026-01-12,2026-04-03,\n"  # 10 unknown person
        "CS101,2026J,Cohort A,hybrid,sam@uni.edu,2026-01-12,2026-04-03,\n"  # 11 a student
        "CS101,2026J,Cohort A,online,,2026-01-12,2026-04-03,\n"  # 12 duplicate of line 2
        "CS101,2026J,Cohort A,in-person,,2026-01-12,2026-04-03,\n"  # 13 exists in the database
        "CS101,2026J,Cohort A,hybrid,,2026-01-12,2026-04-03,ten\n"  # 14 capacity not a number
    )
    result = cli("offering", "import", write(tmp_path, text))
    assert result.exit_code == 1, result
    lines = result.stderr.splitlines()
    expected = [
        ("line 3:", "unknown module 'XX999'"),
        ("line 4:", "unknown class '1999Z'"),
        ("line 5:", "unknown cohort 'Nobody'"),
        ("line 6:", "mode must be online, in-person or hybrid"),
        ("line 7:", "end_date 2026-04-03 is before start_date 2026-04-12"),
        ("line 8:", "start_date '12/01/2026' is not a date"),
        ("line 9:", "max_students must be at least 1"),
        ("line 10:", "unknown facilitator ghost@uni.edu"),
        ("line 11:", "sam@uni.edu is a student, not a facilitator"),
        ("line 12:", "is also on line 2"),
        ("line 13:", "already exists"),
        ("line 14:", "max_students 'ten' is not a whole number"),
    ]
    assert len(lines) == len(expected) + 1
    for line, (prefix, text_) in zip(lines, expected, strict=False):
        assert line.startswith(prefix), line
        assert text_ in line, line
    assert lines[-1] == "error: 12 problem(s) found; nothing was imported"
    assert len(cli.ok("offering", "list", "--json").json()) == 1


def test_facilitator_load_is_checked_across_the_file(
    cli: Cli, term: dict[str, str], tmp_path: Path
) -> None:
    create(cli, "--facilitator", "ana@uni.edu", module="MA201")
    text = HEADER + (
        "CS101,2026J,Cohort A,online,ana@uni.edu,2026-01-12,2026-04-03,\n"
        "CS101,2026J,Cohort A,hybrid,ana@uni.edu,2026-02-01,2026-03-01,\n"
        "CS101,2026J,Cohort B,online,ana@uni.edu,2026-06-01,2026-08-01,\n"
    )
    result = cli("offering", "import", write(tmp_path, text), env={"CMS_MAX_LOAD": "2"})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "line 3: ana@uni.edu would hold 3 offerings overlapping 2026-02-01..2026-03-01 (max_load 2)"
    )


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"", "the file is empty"),
        (HEADER.encode(), "no rows"),
        (b"\x00\x01\x02binary", "not a CSV file"),
        (b"module,class\nCS101,2026J\n", "missing column(s) cohort, mode, start_date, end_date"),
        (
            "module,class,cohort,mode,start_date,end_date\nCS101,2026J,Coh\xf6rt,online,2026-01-12,2026-04-03\n".encode(
                "latin-1"
            ),
            "not UTF-8",
        ),
        (
            b'module,class,cohort,mode,start_date,end_date\nCS101,2026J,"Cohort A,online\n',
            "not valid CSV",
        ),
    ],
)
def test_junk_files(
    cli: Cli, term: dict[str, str], tmp_path: Path, content: bytes, text: str
) -> None:
    result = cli("offering", "import", write(tmp_path, content))
    assert result.exit_code == 1, result
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_optional_columns_may_be_absent(cli: Cli, term: dict[str, str], tmp_path: Path) -> None:
    text = (
        "module,class,cohort,mode,start_date,end_date\n"
        "CS101,2026J,Cohort A,online,2026-01-12,2026-04-03\n"
    )
    assert cli.ok("offering", "import", write(tmp_path, text), "--json").json()["created"] == 1


def test_import_needs_a_manager_and_a_login(cli: Cli, term: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    cli.login("ana@uni.edu")
    assert cli("offering", "import", path).exit_code == 5
    cli("auth", "logout")
    assert cli("offering", "import", path).exit_code == 4


# docs/examples/term1.csv is imported by tests/ops/test_readme_tour.py, after `cms demo`.


def test_an_import_beside_a_create_never_exceeds_the_load(
    cli: Cli, term: dict[str, str], tmp_path: Path
) -> None:
    """`offering import` and `offering create` give Ana an overlapping offering at the same
    moment, with room for one: exactly one of them gets it (the other exits 6 or reports
    the line), and Ana never holds more than max_load. Rounds repeat the race."""
    env = {"CMS_MAX_LOAD": "1"}
    cli.ok("class", "add", "2026L", "--year", "2026", "--trimester", "3", "--intake", "FT")
    for round_, klass in enumerate(("2026J", "2026K", "2026L")):
        start, end = f"2027-0{round_ + 1}-04", f"2027-0{round_ + 1}-25"
        # many rows without a facilitator first, so that the import is still busy when
        # the create runs; Ana's row last
        rows = [f"CS101,{klass},Cohort B,{mode},,{start},{end},\n" for mode in ("online", "hybrid")]
        rows.append(f"MA201,{klass},Cohort B,online,ana@uni.edu,{start},{end},\n")
        path = tmp_path / f"race{round_}.csv"
        path.write_text(HEADER + "".join(rows), encoding="utf-8")
        importing = cli.spawn("offering", "import", str(path), env=env)
        creating = cli.spawn(
            "offering",
            "create",
            "--module",
            "CS101",
            "--class",
            klass,
            "--cohort",
            "Cohort A",
            "--mode",
            "in-person",
            "--start",
            start,
            "--end",
            end,
            "--facilitator",
            "ana@uni.edu",
            env=env,
        )
        codes = (importing.wait(timeout=120), creating.wait(timeout=120))
        for proc in (importing, creating):
            assert "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
        assert sorted(codes) in ([0, 1], [0, 6]), codes
        held = [
            o
            for o in cli.ok("offering", "list", "--facilitator", "ana@uni.edu", "--json").json()
            if o["start_date"] == start
        ]
        assert len(held) == 1, (round_, codes, held)
