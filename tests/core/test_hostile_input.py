"""Hostile text in, hostile text out, on SQLite and MariaDB.

In: every field that takes a name, a code or free text refuses control characters
(C0, C1, ESC, CR/LF but the newlines of notes) and values over its documented length,
with exit 1 and nothing written. Out: text stored before those checks (another tool,
an older cms) is shown with control characters made visible, rich markup in it is not
read, and CSV cells that a spreadsheet would run get a leading quote. JSON is exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Cli, set_name

from cms_cli.core import limits

HOSTILE = {
    "escape": "X\x1b[2J\x1b]8;;http://evil.example\x07link",
    "crlf": "X\r\nY",
    "newline": "X\nY",
    "tab": "X\tY",
    "c1": "X\x9bY",
    "bidi": "X\u202eY",
    "del": "X\x7fY",
    # An argument's undecodable byte (surrogateescape), or a JSON "\udcff": not text.
    "surrogate": "X\udcffY",
}


def _commands(bad: str, tmp_path: Path, offering: int) -> list[tuple[str, ...]]:
    """One call per field that takes text, with ``bad`` in that field."""
    users = tmp_path / "users.csv"
    row = f'email,name,role\nnew@uni.edu,"{bad}",student\n'
    users.write_bytes(row.encode("utf-8", "surrogateescape"))
    return [
        ("user", "add", "--email", "n1@uni.edu", "--name", bad, "--role", "student"),
        ("user", "add", "--email", "n2@uni.edu", "--name", "N", "--role", "facilitator",
         "--employee-id", bad),
        ("user", "add", "--email", "n3@uni.edu", "--name", "N", "--role", "student",
         "--student-id", bad),
        ("user", "add", "--email", f"n4{bad}@uni.edu", "--name", "N", "--role", "student"),
        ("user", "import", str(users)),
        ("module", "add", "PH101", "--name", bad, "--credits", "3"),
        ("module", "add", "PH102", "--name", "Physics", "--credits", "3", "--description",
         bad.replace("\n", "\x1b").replace("\t", "\x1b")),  # free text: these two allowed
        ("module", "add", f"PH{bad}", "--name", "Physics", "--credits", "3"),
        ("cohort", "add", f"Cohort {bad}"),
        ("class", "add", f"27{bad}", "--year", "2027", "--trimester", "1", "--intake", "FT"),
    ]  # fmt: skip


COUNTS = ("app_user", "module", "cohort", "class_group", "weekly_log")


def counts(db_url: str) -> dict[str, int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        found = {
            t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar()
            for t in COUNTS
        }
    engine.dispose()
    return {k: int(v or 0) for k, v in found.items()}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_control_characters_are_refused_at_input(
    cli: Cli, offerings: dict[str, int], db_url: str, tmp_path: Path, kind: str
) -> None:
    before = counts(db_url)
    for args in _commands(HOSTILE[kind], tmp_path, offerings["A"]):
        extra = ("--password-stdin",) if args[:2] == ("user", "add") else ()
        run = cli(*args, *extra, input="correct-horse-9\n")
        assert run.exit_code in (1, 3), run  # 3: a code that names nothing
        assert "\x1b" not in run.stderr, run
        assert "\r" not in run.stderr, run
        assert len(run.stderr.splitlines()) <= 3, run
    assert counts(db_url) == before


@pytest.mark.parametrize("kind", ["escape", "crlf", "c1", "bidi"])
def test_notes_refuse_control_characters_but_keep_newlines_and_tabs(
    cli: Cli, offerings: dict[str, int], db_url: str, kind: str
) -> None:
    a = str(offerings["A"])
    cli.login("ana@uni.edu")
    bad = cli("tracker", "log", "--offering", a, "--week", "2", "--notes", HOSTILE[kind])
    if kind == "crlf":  # a CRLF line end is a newline: kept as LF
        assert bad.exit_code == 0, bad
        shown = cli.ok("tracker", "show", "--offering", a, "--week", "2", "--json").json()
        assert shown["notes"] == "X\nY"
        return
    assert bad.exit_code == 1, bad
    assert "notes must not contain control characters" in bad.stderr
    assert cli("tracker", "show", "--offering", a, "--week", "2").exit_code == 3
    cli.ok("tracker", "log", "--offering", a, "--week", "2", "--notes", "line one\n\tline two")


FIELD_LIMITS: list[tuple[tuple[str, ...], str]] = [
    (("user", "add", "--email", "l@uni.edu", "--role", "student", "--name"),
     "x" * (limits.PERSON_NAME + 1)),
    (("user", "add", "--email", "l@uni.edu", "--role", "student", "--name", "L",
      "--student-id"), "x" * (limits.PERSON_ID + 1)),
    (("user", "add", "--role", "student", "--name", "L", "--email"),
     "x" * (limits.EMAIL) + "@uni.edu"),
    (("module", "add", "LONG1", "--credits", "3", "--name"), "x" * (limits.MODULE_NAME + 1)),
    (("module", "add", "LONG2", "--credits", "3", "--name", "L", "--description"),
     "x" * (limits.DESCRIPTION + 1)),
    (("cohort", "add"), "x" * (limits.COHORT_MAX + 1)),
    (("tracker", "log", "--week", "2", "--notes"), "é" * (limits.NOTES + 1)),
]  # fmt: skip


@pytest.mark.parametrize(("args", "value"), FIELD_LIMITS, ids=lambda v: str(v)[:40])
def test_every_field_has_a_limit_checked_before_the_database(
    cli: Cli, offerings: dict[str, int], db_url: str, args: tuple[str, ...], value: str
) -> None:
    """The same answer on SQLite and MariaDB (which would refuse or truncate otherwise)."""
    before = counts(db_url)
    if args[0] == "tracker":
        cli.login("ana@uni.edu")
        args = (*args[:2], "--offering", str(offerings["A"]), *args[2:])
    extra = ("--password-stdin",) if args[:2] == ("user", "add") else ()
    run = cli(*args, value, *extra, input="correct-horse-9\n")
    assert run.exit_code == 1, run
    assert "too long" in run.stderr or "characters" in run.stderr or "e-mail" in run.stderr
    assert counts(db_url) == before
    # and exactly the limit is fine
    if args[:2] == ("tracker", "log"):
        cli.ok(*args, "é" * limits.NOTES)


HUGE = "99999999999999999999"


#: Commands given a number past what any column holds.
HUGE_NUMBERS = [
    ("offering", "show", HUGE),
    ("offering", "update", HUGE, "--max-students", "3"),
    ("offering", "enrol", "1", "--student", "sam@uni.edu", "--student", "sue@uni.edu"),
    ("tracker", "show", "--offering", HUGE, "--week", "1"),
    ("tracker", "log", "--offering", "1", "--week", HUGE, "--notes", "n"),
    ("tracker", "list", "--week", HUGE),
    ("offering", "list", "--year", HUGE),
    ("notify", "retry", HUGE),
    ("inbox", "read", HUGE),
    ("class", "add", "2099Z", "--year", HUGE, "--trimester", "1", "--intake", "FT"),
    ("module", "add", "BIG01", "--name", "Big", "--credits", HUGE),
    ("reflection", "list", "--offering", HUGE),
]


def test_huge_numbers_get_a_clear_error(cli: Cli, offerings: dict[str, int], db_url: str) -> None:
    """Every command in one test per database and transport (the setup is the cost)."""
    before = counts(db_url)
    for args in HUGE_NUMBERS:
        if args[:2] == ("offering", "enrol"):
            run = cli("offering", "update", str(offerings["A"]), "--max-students", HUGE)
        else:
            run = cli(*args)
        assert run.exit_code == 1, run
        assert any(w in run.stderr for w in ("out of range", "too large", "must be")), run
        assert len(run.stderr.splitlines()) <= 2, run
    assert counts(db_url) == before


@pytest.mark.parametrize("value", ["0", "-3", str(limits.MAX_STUDENTS + 1)])
def test_max_students_is_bounded_everywhere(
    cli: Cli, offerings: dict[str, int], tmp_path: Path, value: str
) -> None:
    update = cli("offering", "update", str(offerings["A"]), "--max-students", value)
    assert update.exit_code == 1, update
    file = tmp_path / "o.csv"
    file.write_text(
        "module,class,cohort,mode,start_date,end_date,max_students\n"
        f"CS101,2026K,Cohort B,online,2026-05-04,2026-07-31,{value}\n"
    )
    imported = cli("offering", "import", str(file))
    assert imported.exit_code == 1, imported
    assert "max_students" in imported.stderr


# -- output ----------------------------------------------------------------------------


def test_stored_control_characters_never_reach_the_terminal(
    cli: Cli, people: dict[str, str], db_url: str
) -> None:
    set_name(db_url, "sam@uni.edu", "Sam\x1b[2J\x1b]8;;http://evil.example\x07Stu\u202e")
    table = cli.ok("user", "list", env={"COLUMNS": "300"}).stdout
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in table
    assert "Sam\\x1b[2J" in table
    # JSON is exact: scripts get what is stored
    rows = cli.ok("user", "list", "--json").json()
    assert next(r for r in rows if r["email"] == "sam@uni.edu")["name"].startswith("Sam\x1b[2J")


def test_rich_markup_in_data_is_shown_literally(
    cli: Cli, people: dict[str, str], db_url: str
) -> None:
    cli.ok(
        "module", "add", "MK101", "--name", "[bold red]Alert[/bold red] [link=x]y", "--credits", "3"
    )
    out = cli.ok("module", "list").stdout
    assert "[bold red]Alert[/bold red]" in out


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_csv_neutralises_formulas_and_json_stays_exact(
    cli: Cli, people: dict[str, str], prefix: str
) -> None:
    name = f'{prefix}HYPERLINK("http://evil.example","x")'
    cli.ok("module", "add", "FX101", "--name", name, "--credits", "3")
    lines = cli.ok("module", "list", "--csv").stdout.splitlines()
    row = next(line for line in lines if line.startswith("FX101"))
    assert f"'{prefix}HYPERLINK" in row
    rows = cli.ok("module", "list", "--json").json()
    assert next(r for r in rows if r["code"] == "FX101")["name"] == name
    # numbers stay numbers
    assert row.endswith(",3,,true")


def test_reflection_answers_refuse_control_characters(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    file = tmp_path / "r.json"
    answers: dict[str, Any] = {"question1": "ok\x1b[2J", "question2": "b", "question3": "c"}
    file.write_text(
        json.dumps(
            {
                "offering": offerings["A"],
                "language": "en",
                "answers": answers,
                "submitted_at": "2026-02-01T10:00:00Z",
            }
        )
    )
    cli.login("sam@uni.edu")
    run = cli("reflection", "submit", str(file))
    assert run.exit_code == 1
    assert "control characters" in run.stderr
    for offering in ("1" * 30, "²", 10**30, "9" * 5000):
        file.write_text(json.dumps({"offering": offering, "language": "en", "answers": answers}))
        run = cli("reflection", "submit", str(file))
        assert run.exit_code == 1, run
        assert len(run.stderr) < 400


def test_the_database_refusing_a_value_is_a_clear_error(cli: Cli, db_url: str) -> None:
    """The net behind the limits: a value the database itself refuses (here, through a
    service call that skips the checks) is exit 1 with a hint, never a raw driver error."""
    from cms_cli.core.db import database_error

    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO module (code, name, credits, is_active, created_at) "
                    "VALUES (:c, 'n', :cr, 1, '2026-01-01 00:00:00')"
                ),
                {"c": "X" * 300, "cr": 2**70},
            )
    except (sa.exc.DBAPIError, OverflowError) as exc:
        error = database_error(db_url, exc)
        assert error.exit_code == 1
        assert "too long or out of range" in error.message
    else:  # SQLite neither checks lengths nor refuses... a 2**70 integer: it must
        raise AssertionError("the database took a value it cannot hold")
    finally:
        engine.dispose()
