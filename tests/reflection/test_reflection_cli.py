"""cms reflection submit / list, on SQLite and MariaDB."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli

ANSWERS = {"question1": " The labs ", "question2": "Recursion", "question3": "More examples"}


def page_file(tmp_path: Path, offering: Any, name: str = "reflection.json", **changes: Any) -> str:
    data = {
        "offering": offering,
        "language": "fr",
        "answers": dict(ANSWERS),
        "submitted_at": "2026-04-03T17:20:00.000Z",
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
            "submitted_at": "2026-04-03T17:20:00+00:00",
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
    events = cli.ok("audit", "list", "--entity", "reflection", "--json").json()
    assert [e["action"] for e in events] == ["submit", "replace"]
    assert events[1]["before"]["answers"]["question1"] == "The labs"


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("not json", "not a JSON file"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"offering": "twelve"}), "'offering' must be an offering id"),
        (json.dumps({"offering": True}), "'offering' must be an offering id"),
        (json.dumps({"offering": 1, "language": "de"}), "'language' must be en or fr"),
        (
            json.dumps({"offering": 1, "language": "en", "answers": "x"}),
            "'answers' must be an object",
        ),
        (
            json.dumps(
                {
                    "offering": 1,
                    "language": "en",
                    "answers": {**ANSWERS, "question2": "   "},
                    "submitted_at": "2026-04-03T17:20:00Z",
                }
            ),
            "question2 is missing or blank",
        ),
        (
            json.dumps(
                {
                    "offering": 1,
                    "language": "en",
                    "answers": {"question1": "a", "question2": "b"},
                    "submitted_at": "2026-04-03T17:20:00Z",
                }
            ),
            "question3 is missing",
        ),
        (
            json.dumps(
                {"offering": 1, "language": "en", "answers": ANSWERS, "submitted_at": "yesterday"}
            ),
            "'submitted_at' is not an ISO 8601",
        ),
    ],
)
def test_bad_files_exit_1_with_the_reason(
    cli: Cli, offerings: dict[str, int], tmp_path: Path, content: str, text: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    cli.login("sam@uni.edu")
    result = cli("reflection", "submit", str(path))
    assert result.exit_code == 1, result
    assert text in result.stderr
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
