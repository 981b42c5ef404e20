"""cms reflection submit / list, on SQLite and MariaDB."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Cli

ANSWERS = {"question1": " The labs ", "question2": "Recursion", "question3": "More examples"}


def page_file(tmp_path: Path, offering: Any, name: str = "reflection.json", **changes: Any) -> str:
    data = {
        "offering": offering,
        "language": "fr",
        "answers": dict(ANSWERS),
        "submitted_at": "2026-01-23T17:20:00.000Z",
        **changes,
    }
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_submit_and_list(cli: Cli, offerings: dict[str, int], tmp_path: Path) -> None:
    a = offerings["A"]
    cli.login("sam@uni.edu")
    done = cli.ok("reflection", "submit", page_file(tmp_path, a))
    assert done.stdout == f"Reflection for offering {a} stored.\n"
    cli.login("ana@uni.edu")  # the facilitator
    rows = cli.ok("reflection", "list", "--offering", str(a), "--json").json()
    assert rows == [
        {
            "student": "sam@uni.edu",
            "offering_id": a,
            "language": "fr",
            "answers": {
                "question1": "The labs",
                "question2": "Recursion",
                "question3": "More examples",
            },
            "submitted_at": "2026-01-23T17:20:00+00:00",
        }
    ]
    lines = cli.ok("reflection", "list", "--offering", str(a), "--csv").stdout.splitlines()
    assert lines[0] == "student,offering_id,language,answers,submitted_at"
    cli.login("dean@uni.edu")  # managers too
    assert len(cli.ok("reflection", "list", "--offering", str(a), "--json").json()) == 1


def test_a_new_submission_replaces_the_old(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    a = offerings["A"]
    cli.login("sam@uni.edu")
    cli.ok("reflection", "submit", page_file(tmp_path, a))
    again = cli.ok(
        "reflection",
        "submit",
        page_file(tmp_path, str(a), language="en", answers={**ANSWERS, "question1": "Projects"}),
    )
    assert "replaced your earlier one" in again.stdout
    cli.login("dean@uni.edu")
    rows = cli.ok("reflection", "list", "--offering", str(a), "--json").json()
    assert [(r["language"], r["answers"]["question1"]) for r in rows] == [("en", "Projects")]
    events = cli.ok("audit", "list", "--entity", "reflection", "--json").json()[::-1]
    assert [e["action"] for e in events] == ["submit", "replace"]
    assert events[1]["before"]["answers"]["question1"] == "The labs"


#: (file content, what the error says): each refused with exit 1, the file named.
BAD_FILES = [
    ("not json", "not a reflection file (it is not the page's JSON)"),
    ("[1, 2]", "not a reflection file"),
    (json.dumps({"offering": "twelve"}), "'twelve' is not an offering number"),
    (json.dumps({"offering": True}), "is not an offering number"),
    (json.dumps({"offering": None, "answers": {}}), "names no course offering"),
    (json.dumps({"offering": "12abc", "answers": {}}), "'12abc' is not an offering number"),
    (json.dumps({"offering": 1, "language": "de"}), "the page writes en or fr"),
    ("[" * 100_000 + "]" * 100_000, "not a reflection file"),  # nested past recursion
    (
        json.dumps(
            {
                "offering": 1,
                "language": "en",
                "answers": ANSWERS,
                "submitted_at": "0001-01-01T00:00:00+14:00",  # before the calendar
            }
        ),
        "it has no valid time of submission",
    ),
    (
        json.dumps(
            {
                "offering": 1,
                "language": "en",
                "answers": ANSWERS,
                "submitted_at": "9999-12-30T00:00:00Z",  # would outlast every later one
            }
        ),
        "is not a plausible one",
    ),
    (
        json.dumps(
            {
                "offering": 1,
                "language": "en",
                "answers": ANSWERS,
                "submitted_at": "2026-01-23T17:20:00Z",
                "email": "not an address",
            }
        ),
        "is not an e-mail address",
    ),
    (
        json.dumps({"offering": 1, "language": "en", "answers": "x"}),
        "it has no answers",
    ),
    (
        json.dumps(
            {
                "offering": 1,
                "language": "en",
                "answers": {**ANSWERS, "question2": "   "},
                "submitted_at": "2026-01-23T17:20:00Z",
            }
        ),
        "the answer to question 2 is missing",
    ),
    (
        json.dumps(
            {
                "offering": 1,
                "language": "en",
                "answers": {"question1": "a", "question2": "b"},
                "submitted_at": "2026-01-23T17:20:00Z",
            }
        ),
        "the answer to question 3 is missing",
    ),
    (
        json.dumps(
            {"offering": 1, "language": "en", "answers": ANSWERS, "submitted_at": "yesterday"}
        ),
        "it has no valid time of submission",
    ),
]


def test_bad_files_exit_1_with_the_reason(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    """One test for every case (a database and a server each), not one each: the file
    is checked before the database matters."""
    cli.login("sam@uni.edu")
    for n, (content, text) in enumerate(BAD_FILES):
        path = tmp_path / f"bad{n}.json"
        path.write_text(content)
        result = cli("reflection", "submit", str(path))
        assert result.exit_code == 1, result
        assert result.stderr.startswith(f"error: {path}: "), content[:40]
        assert text in result.stderr, content[:40]
        assert "hint: " in result.stderr  # what to do about it, in plain words
    assert cli("reflection", "submit", str(tmp_path / "nope.json")).exit_code == 1


def test_who_may_submit_and_read(cli: Cli, offerings: dict[str, int], tmp_path: Path) -> None:
    a, b = offerings["A"], offerings["B"]
    cli.login("sam@uni.edu")
    not_enrolled = cli("reflection", "submit", page_file(tmp_path, b))
    assert not_enrolled.exit_code == 5
    assert "not enrolled" in not_enrolled.stderr
    assert cli("reflection", "submit", page_file(tmp_path, 999)).exit_code == 3
    assert cli("reflection", "list", "--offering", str(a)).exit_code == 5
    cli.login("ana@uni.edu")
    assert cli("reflection", "submit", page_file(tmp_path, a)).exit_code == 5  # not a student
    cli.login("ben@uni.edu")
    assert cli("reflection", "list", "--offering", str(a)).exit_code == 5  # not his offering
    cli("auth", "logout")
    assert cli("reflection", "submit", page_file(tmp_path, a)).exit_code == 4


def test_a_file_signed_by_another_student_is_refused(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    a = offerings["A"]
    cli.login("sam@uni.edu")
    theirs = cli("reflection", "submit", page_file(tmp_path, a, email="sue@uni.edu"))
    assert theirs.exit_code == 5
    assert "sue@uni.edu's, and you are sam@uni.edu" in theirs.stderr
    mine = page_file(tmp_path, a, name="mine.json", email=" Sam@Uni.edu ")
    assert cli.ok("reflection", "submit", mine).stdout.endswith("stored.\n")


def enrol_many(cli: Cli, offering: int, count: int, tmp_path: Path) -> list[str]:
    """``count`` students, enrolled in ``offering`` (a CSV of accounts, a CSV to enrol)."""
    emails = [f"s{n:03d}@uni.edu" for n in range(count)]
    accounts = tmp_path / "students.csv"
    accounts.write_text(
        "email,name,role,student_id\n"
        + "".join(f"{e},Student {n},student,T{n:04d}\n" for n, e in enumerate(emails))
    )
    cli.ok("user", "import", str(accounts))
    roster = tmp_path / "roster.csv"
    roster.write_text("email\n" + "".join(f"{e}\n" for e in emails))
    cli.ok("offering", "update", str(offering), "--max-students", str(count + 10))
    cli.ok("offering", "enrol", str(offering), "--file", str(roster))
    return emails


def test_a_drop_box_of_200_files_with_2_bad_stores_nothing(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    """A facilitator imports a folder (subfolders per student, as a drop box exports
    them): every file is checked first; two bad ones are both reported as FILE: ...
    and nothing is stored; mended, all 200 are stored; the rate follows."""
    a = offerings["A"]
    emails = enrol_many(cli, a, 200, tmp_path)
    box = tmp_path / "dropbox"
    for n, email in enumerate(emails):
        folder = box / f"student-{n:03d}"
        folder.mkdir(parents=True)
        page_file(folder, a, name="reflection-offering.json", email=email, language="en")
    (box / ".trash").mkdir()
    (box / ".trash" / "old.json").write_text("not even json")  # hidden: skipped
    bad_answer = box / "student-007" / "reflection-offering.json"
    bad_answer.write_text(
        json.dumps(
            {
                "offering": a,
                "language": "en",
                "answers": {**ANSWERS, "question3": " "},
                "submitted_at": "2026-01-23T17:20:00Z",
                "email": emails[7],
            }
        )
    )
    stranger = box / "student-150" / "reflection-offering.json"
    page_file(stranger.parent, a, name=stranger.name, email="sue@uni.edu@x")
    cli.login("ana@uni.edu")
    refused = cli("reflection", "import", str(box))
    assert refused.exit_code == 1
    assert "2 of 200 file(s) have problems; nothing was imported" in refused.stderr
    assert f"{bad_answer}: the answer to question 3 is missing" in refused.stderr
    assert f"{stranger}: its student e-mail" in refused.stderr
    assert cli.ok("reflection", "list", "--offering", str(a), "--json").json() == []
    page_file(bad_answer.parent, a, name=bad_answer.name, email=emails[7])
    page_file(stranger.parent, a, name=stranger.name, email=emails[150])
    dry = cli.ok("reflection", "import", str(box), "--dry-run", "--json").json()
    assert dry == {"checked": 200, "created": 200, "replaced": 0, "kept": 0, "dry_run": True}
    assert cli.ok("reflection", "list", "--offering", str(a), "--json").json() == []
    done = cli.ok("reflection", "import", str(box))
    assert done.stdout == "Stored 200 reflection(s), replaced 0.\n"
    listed = cli.ok("reflection", "list", "--offering", str(a), "--limit", "0")
    assert listed.stdout.splitlines()[-1] == "200 of 202 enrolled students (99%)"
    cli.login("dean@uni.edu")
    events = cli.ok("audit", "list", "--entity", "reflection", "--json").json()[::-1]
    assert len(events) == 200
    assert {e["actor"] for e in events} == {"ana@uni.edu"}


def test_import_keeps_the_newer_and_checks_who_and_where(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    a, b = offerings["A"], offerings["B"]
    cli.login("sam@uni.edu")
    cli.ok("reflection", "submit", page_file(tmp_path, a))  # submitted 2026-01-23 17:20
    older = page_file(
        tmp_path, a, name="older.json", email="sam@uni.edu", submitted_at="2026-01-21T09:00:00Z"
    )
    newer = page_file(
        tmp_path,
        a,
        name="newer.json",
        email="sue@uni.edu",
        submitted_at="2026-01-25T09:00:00Z",
        answers={**ANSWERS, "question1": "Second try"},
    )
    first = page_file(tmp_path, a, name="first.json", email="sue@uni.edu")
    cli.login("ana@uni.edu")
    done = cli.ok("reflection", "import", older, newer, first, "--json").json()
    assert done == {"checked": 3, "created": 1, "replaced": 0, "kept": 2, "dry_run": False}
    rows = {
        r["student"]: r for r in cli.ok("reflection", "list", "--offering", str(a), "--json").json()
    }
    assert rows["sam@uni.edu"]["answers"]["question1"] == "The labs"  # the stored one is newer
    assert rows["sue@uni.edu"]["answers"]["question1"] == "Second try"
    newest = page_file(
        tmp_path, a, name="newest.json", email="sam@uni.edu", submitted_at="2026-01-29T09:00:00Z"
    )
    assert cli.ok("reflection", "import", newest).stdout == "Stored 0 reflection(s), replaced 1.\n"
    # Not his offering: exit 5, naming the file; a student of another offering: exit 1.
    cli.login("ben@uni.edu")
    refused = cli("reflection", "import", newest)
    assert refused.exit_code == 5
    assert f"not your offerings: {newest} (offering {a})" in refused.stderr
    cli.login("dean@uni.edu")
    elsewhere = page_file(tmp_path, b, name="b.json", email="sam@uni.edu")
    unknown = page_file(tmp_path, a, name="ghost.json", email="ghost@uni.edu")
    nowhere = page_file(tmp_path, 999, name="nowhere.json", email="sam@uni.edu")
    legacy = page_file(tmp_path, a, name="legacy.json")  # no e-mail in it
    result = cli("reflection", "import", elsewhere, unknown, nowhere, legacy)
    assert result.exit_code == 1
    for line in (
        f"{elsewhere}: sam@uni.edu is not a student of offering {b}",
        f"{unknown}: ghost@uni.edu is not a student of offering {a}",
        f"{nowhere}: no offering 999",
        f"{legacy}: it names no student",
    ):
        assert line in result.stderr, line
    # Nothing to import, a missing file, an empty folder: exit 1, one line each.
    (tmp_path / "empty").mkdir()
    for args in ((str(tmp_path / "none.json"),), (str(tmp_path / "empty"),)):
        missing = cli("reflection", "import", *args)
        assert missing.exit_code == 1, args
        assert missing.stderr.count("error:") == 1
    cli.login("sam@uni.edu")
    assert cli("reflection", "import", newest).exit_code == 5  # students submit their own


def test_response_rates(cli: Cli, offerings: dict[str, int], tmp_path: Path) -> None:
    a, b = offerings["A"], offerings["B"]
    cli.login("ana@uni.edu")
    empty = cli.ok("reflection", "list", "--offering", str(a))
    assert empty.stdout == "0 of 2 enrolled students (0%)\n"
    cli.login("sam@uni.edu")
    cli.ok("reflection", "submit", page_file(tmp_path, a))
    cli.login("dean@uni.edu")
    assert cli.ok("reflection", "list", "--offering", str(a)).stdout.endswith(
        "\n1 of 2 enrolled students (50%)\n"
    )
    assert cli.ok("reflection", "list", "--offering", str(b)).stdout == (
        f"nobody is enrolled in offering {b} now\n"
    )
    rates = cli.ok("reflection", "summary", "--json").json()
    assert rates == [
        {"offering_id": a, "module": "CS101", "enrolled": 2, "submitted": 1, "rate": 50.0},
        {"offering_id": b, "module": "MA201", "enrolled": 0, "submitted": 0, "rate": None},
    ]
    csv_lines = cli.ok("reflection", "summary", "--module", "CS101", "--csv").stdout.splitlines()
    assert csv_lines == ["offering_id,module,enrolled,submitted,rate", f"{a},CS101,2,1,50.0"]
    table = cli.ok("reflection", "summary").stdout
    assert "50%" in table
    assert "nobody enrolled" in table
    cli.login("ben@uni.edu")  # his offerings only
    assert [r["offering_id"] for r in cli.ok("reflection", "summary", "--json").json()] == [b]
    assert cli("reflection", "summary", "--trimester", "7").exit_code == 1
    cli.login("sam@uni.edu")
    assert cli("reflection", "summary").exit_code == 5


def test_import_refuses_what_cannot_be_a_reflection_and_names_any_file(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    """A cancelled offering's files; a file name that is not UTF-8 (from another system)
    shown the same way locally and through the server; not signed in: exit 4 before any
    file is read; a student unenrolled after handing in is counted apart."""
    import os

    a = offerings["A"]
    cli("auth", "logout")
    assert cli("reflection", "import", str(tmp_path / "none.json")).exit_code == 4
    cli.login("dean@uni.edu")
    odd = tmp_path / "odd"
    odd.mkdir()
    name = Path(os.fsdecode(bytes(odd) + b"/caf\xe9.json"))
    name.write_text(
        json.dumps(
            {
                "offering": a,
                "email": "sam@uni.edu",
                "language": "fr",
                "answers": ANSWERS,
                "submitted_at": "2026-01-23T17:20:00Z",
            }
        )
    )
    dry = cli.ok("reflection", "import", str(odd), "--dry-run")
    assert "1 file(s) checked, all valid" in dry.stdout
    name.write_text("not json")
    bad = cli("reflection", "import", str(odd))
    assert f"{odd}/caf\\xe9.json: not a reflection file" in bad.stderr
    cli.ok("reflection", "import", page_file(tmp_path, a, name="sue.json", email="sue@uni.edu"))
    cli.ok("offering", "unenrol", str(a), "--student", "sue@uni.edu")
    listed = cli.ok("reflection", "list", "--offering", str(a)).stdout.splitlines()
    assert listed[-1] == "0 of 1 enrolled students (0%); 1 more from students no longer enrolled"
    cli.ok("offering", "cancel", str(a), "--yes")
    late = page_file(tmp_path, a, name="late.json", email="sam@uni.edu")
    refused = cli("reflection", "import", late)
    assert refused.exit_code == 1
    assert f"{late}: offering {a} was cancelled" in refused.stderr
    cli.login("sam@uni.edu")
    assert cli("reflection", "submit", page_file(tmp_path, a)).exit_code == 1
