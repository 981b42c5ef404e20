"""cms tracker through the CLI on a hand-computed term, on SQLite and MariaDB.

"Now" is 2026-02-01 12:00 UTC, time zone UTC, grace 48 h.
Offering A (CS101, Ana): 2026-01-05 .. 2026-02-27, 8 weeks; weeks 1-3 are due
(week 3 ends Jan 25, due Jan 28 00:00), week 4 (Jan 26 - Feb 1) is not.
Offering B (MA201, Ben): 2026-01-12 .. 2026-03-06, 8 weeks; weeks 1-2 are due.
Logs: A1 complete, A2 incomplete, A3 none, A4 incomplete; B1 complete, B2 none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ALL_DONE, Cli, create

from cms_cli.core.output import columns
from cms_cli.tracker.models import LogPublic

#: The contract's fields, in order: the Public model's.
FIELDS = list(columns(LogPublic))


def log_json(cli: Cli, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = cli.ok("tracker", "log", *args, "--json").json()
    return data


def test_a_new_log_starts_not_started_and_updates_only_what_is_given(
    cli: Cli, offerings: dict[str, int]
) -> None:
    a = str(offerings["A"])
    cli.login("ana@uni.edu")
    first = log_json(
        cli, "--offering", a, "--week", "2", "--formative-one", "DONE", "--notes", "slow week"
    )
    assert list(first) == FIELDS
    assert first["formative_one_grading"] == "done"
    assert first["formative_two_grading"] == "not-started"
    assert first["attendance"] is None
    assert first["completion"] == 14  # round(100 * 1 / 7)
    assert first["complete"] is False
    assert first["due_at"] == "2026-01-21T00:00:00+00:00"
    assert first["submitted_at"] is None
    second = log_json(
        cli, "--offering", a, "--week", "2", "--grade-book", "Not Started", "--summative", "pending"
    )
    assert second["formative_one_grading"] == "done"  # kept
    assert second["summative_grading"] == "pending"
    assert second["notes"] == "slow week"
    cleared = log_json(cli, "--offering", a, "--week", "2", "--notes", "")
    assert cleared["notes"] is None


def test_completion_complete_and_submitted_at(cli: Cli, offerings: dict[str, int]) -> None:
    a = str(offerings["A"])
    cli.login("ana@uni.edu")
    partial = log_json(
        cli,
        "--offering",
        a,
        "--week",
        "1",
        "--all-present",
        "--formative-one",
        "done",
        "--formative-two",
        "done",
    )
    assert partial["completion"] == 43  # round(100 * 3 / 7)
    done = log_json(cli, "--offering", a, "--week", "1", *ALL_DONE)
    assert done["completion"] == 100
    assert done["complete"] is True
    assert done["submitted_at"] == "2026-02-01T12:00:00+00:00"
    reopened = cli.ok(
        "tracker",
        "log",
        "--offering",
        a,
        "--week",
        "1",
        "--grade-book",
        "pending",
        "--json",
        env={"CMS_NOW": "2026-02-02T08:00:00+00:00"},
    ).json()
    assert reopened["complete"] is False
    assert reopened["submitted_at"] == "2026-02-01T12:00:00+00:00"  # when it first became complete


def test_attendance(cli: Cli, offerings: dict[str, int]) -> None:
    a = str(offerings["A"])
    cli.login("ana@uni.edu")
    assert log_json(cli, "--offering", a, "--week", "1", "--all-present")["attendance"] == {
        "sam@uni.edu": True,
        "sue@uni.edu": True,
    }
    assert log_json(cli, "--offering", a, "--week", "1", "--present", "sam@uni.edu")[
        "attendance"
    ] == {"sam@uni.edu": True, "sue@uni.edu": False}
    assert log_json(cli, "--offering", a, "--week", "1", "--absent", "SAM@uni.edu")[
        "attendance"
    ] == {"sam@uni.edu": False, "sue@uni.edu": True}
    assert log_json(cli, "--offering", a, "--week", "1", "--notes", "x")["attendance"] == {
        "sam@uni.edu": False,
        "sue@uni.edu": True,
    }  # untouched when not given
    stranger = cli("tracker", "log", "--offering", a, "--week", "1", "--absent", "ghost@uni.edu")
    assert stranger.exit_code == 1
    assert "not enrolled in offering" in stranger.stderr
    both = cli(
        "tracker", "log", "--offering", a, "--week", "1", "--all-present", "--absent", "sam@uni.edu"
    )
    assert both.exit_code == 2


def test_defaults_offering_and_current_week(cli: Cli, offerings: dict[str, int]) -> None:
    cli.login("ana@uni.edu")
    shown = log_json(cli, "--formative-one", "pending")
    assert (shown["offering_id"], shown["week"]) == (offerings["A"], 4)  # Feb 1 is in week 4
    cli.login("dean@uni.edu")
    create(cli, "--facilitator", "ana@uni.edu", mode="hybrid", start="2026-01-05", end="2026-02-27")
    cli.login("ana@uni.edu")
    several = cli("tracker", "log", "--formative-one", "done")
    assert several.exit_code == 2
    assert "several active offerings" in several.stderr
    assert str(offerings["A"]) in several.stderr
    cli.login("dean@uni.edu")
    for row in cli.ok("offering", "list", "--facilitator", "ana@uni.edu", "--json").json():
        cli.ok("offering", "cancel", str(row["id"]), "--yes")
    cli.login("ana@uni.edu")
    none = cli("tracker", "log", "--formative-one", "done")
    assert none.exit_code == 1
    assert "no active offering" in none.stderr
    cli.login("dean@uni.edu")
    assert cli("tracker", "log", "--formative-one", "done").exit_code == 2  # managers name it


def test_unhappy_paths(cli: Cli, offerings: dict[str, int]) -> None:
    a, b = str(offerings["A"]), str(offerings["B"])
    cli.login("ana@uni.edu")
    for week in ("0", "9"):
        out = cli("tracker", "log", "--offering", a, "--week", week, "--formative-one", "done")
        assert out.exit_code == 1
        assert "week must be 1..8" in out.stderr
    assert (
        cli("tracker", "log", "--offering", b, "--week", "1", "--formative-one", "done").exit_code
        == 5
    )
    assert (
        cli(
            "tracker", "log", "--offering", "999", "--week", "1", "--formative-one", "done"
        ).exit_code
        == 3
    )
    bad = cli("tracker", "log", "--offering", a, "--week", "1", "--formative-one", "finished")
    assert bad.exit_code == 1
    assert "done, pending or not-started" in bad.stderr
    cli.login("sam@uni.edu")
    assert (
        cli("tracker", "log", "--offering", a, "--week", "1", "--formative-one", "done").exit_code
        == 5
    )
    assert (
        cli(
            "tracker", "log", "--offering", a, "--week", "1", "--formative-one", "finished"
        ).exit_code
        == 5
    )
    cli("auth", "logout")
    assert (
        cli("tracker", "log", "--offering", a, "--week", "1", "--formative-one", "done").exit_code
        == 4
    )


def test_a_manager_may_log_and_is_audited(cli: Cli, offerings: dict[str, int]) -> None:
    a = str(offerings["A"])
    cli.ok("tracker", "log", "--offering", a, "--week", "1", "--formative-one", "done")
    cli.ok("tracker", "log", "--offering", a, "--week", "1", "--formative-two", "pending")
    events = cli.ok("audit", "list", "--entity", "log", "--json").json()[::-1]
    assert [(e["actor"], e["action"], e["entity_id"]) for e in events] == [
        ("dean@uni.edu", "create", f"{a}/1"),
        ("dean@uni.edu", "update", f"{a}/1"),
    ]
    assert events[1]["before"]["formative_two_grading"] == "not-started"
    assert events[1]["after"]["formative_two_grading"] == "pending"


def test_cancelled_offerings_are_not_logged(cli: Cli, offerings: dict[str, int]) -> None:
    a = str(offerings["A"])
    cli.ok("offering", "cancel", a, "--yes")
    assert (
        cli("tracker", "log", "--offering", a, "--week", "1", "--formative-one", "done").exit_code
        == 1
    )


def test_show(cli: Cli, logged: dict[str, int]) -> None:
    a = str(logged["A"])
    shown = cli.ok("tracker", "show", "--offering", a, "--week", "1", "--json").json()
    assert list(shown) == FIELDS
    assert (shown["module"], shown["facilitator"], shown["complete"]) == (
        "CS101",
        "ana@uni.edu",
        True,
    )
    missing = cli("tracker", "show", "--offering", a, "--week", "3")
    assert missing.exit_code == 3
    assert "no log for week 3" in missing.stderr
    assert cli("tracker", "show", "--offering", a, "--week", "12").exit_code == 1
    cli.login("ben@uni.edu")
    assert cli("tracker", "show", "--offering", a, "--week", "1").exit_code == 5
    cli.login("sam@uni.edu")
    assert cli("tracker", "show", "--offering", a, "--week", "1").exit_code == 5


def keys(rows: list[dict[str, Any]], offerings: dict[str, int]) -> list[str]:
    name = {v: k for k, v in offerings.items()}
    return [f"{name[r['offering_id']]}{r['week']}" for r in rows]


def test_list_and_its_statuses(cli: Cli, logged: dict[str, int]) -> None:
    def rows(*args: str) -> list[str]:
        return keys(cli.ok("tracker", "list", "--json", *args).json(), logged)

    assert rows() == ["A1", "A2", "A4", "B1"]
    assert rows("--status", "complete") == ["A1", "B1"]
    assert rows("--status", "incomplete") == ["A2", "A4"]
    assert rows("--status", "missing") == ["A3", "B2"]
    assert rows("--status", "overdue") == ["A2", "A3", "B2"]
    assert rows("--offering", str(logged["B"])) == ["B1"]
    assert rows("--week", "1") == ["A1", "B1"]
    assert rows("--facilitator", "ben@uni.edu", "--status", "overdue") == ["B2"]
    assert rows("--module", "CS101") == ["A1", "A2", "A4"]
    placeholder = cli.ok("tracker", "list", "--status", "missing", "--json").json()[0]
    assert placeholder["completion"] == 0
    assert placeholder["updated_at"] is None
    assert placeholder["due_at"] == "2026-01-28T00:00:00+00:00"
    assert cli.ok("tracker", "list", "--csv").stdout.splitlines()[0] == ",".join(FIELDS)
    assert cli("tracker", "list", "--status", "late").exit_code == 1
    cli.login("ana@uni.edu")
    assert rows() == ["A1", "A2", "A4"]
    assert rows("--status", "missing") == ["A3"]
    cli.login("sam@uni.edu")
    assert cli("tracker", "list").exit_code == 5


def test_report_matches_the_hand_computed_term(cli: Cli, logged: dict[str, int]) -> None:
    data = cli.ok("tracker", "report", "--json").json()
    assert {k: data[k] for k in ("expected", "submitted", "complete", "overdue")} == {
        "expected": 5,
        "submitted": 3,
        "complete": 2,
        "overdue": 3,
    }
    by_id = {o["id"]: o for o in data["offerings"]}
    a, b = by_id[logged["A"]], by_id[logged["B"]]
    assert (a["module"], a["facilitator"]) == ("CS101", "ana@uni.edu")
    assert a["weeks"] == {
        "1": "complete",
        "2": "overdue",
        "3": "missing",
        "4": "incomplete",
        "5": "upcoming",
        "6": "upcoming",
        "7": "upcoming",
        "8": "upcoming",
    }
    assert b["weeks"] == {
        "1": "complete",
        "2": "missing",
        **{str(w): "upcoming" for w in range(3, 9)},
    }
    only_b = cli.ok("tracker", "report", "--json", "--module", "MA201").json()
    assert (only_b["expected"], only_b["complete"]) == (2, 1)
    # A day later, week 4 (ends Feb 1) is still not due (Feb 4); a week later it is.
    later = cli.ok(
        "tracker", "report", "--json", env={"CMS_NOW": "2026-02-04T00:00:00+00:00"}
    ).json()
    assert later["expected"] == 5 + 2


def test_report_outputs(cli: Cli, logged: dict[str, int], tmp_path: Path) -> None:
    table = cli.ok("tracker", "report", env={"COLUMNS": "160"}).stdout
    assert "CS101" in table
    # the footer counts what the legend shows: every state's cells, and the weeks due
    assert "✓ complete 2   ◐ incomplete 1   ! overdue 1   ✗ missing 2   · upcoming 10" in table
    assert "5 weeks due: 2 complete (40%), 3 not complete (1 overdue, 2 missing)" in table
    # The headline first: the share complete, overdue and missing.
    assert table.splitlines()[0] == (
        "Running offerings: 40% complete: 2 of 5 due weeks · 1 overdue · 2 missing"
    )
    # What every row shares is said once, above them, not repeated in a column.
    assert "(class 2026J; mode online; facilitators @uni.edu)" in table
    data = cli.ok("tracker", "report", "--json").json()
    assert data["states"] == {
        "complete": 2,
        "incomplete": 1,
        "overdue": 1,
        "missing": 2,
        "upcoming": 10,
    }
    assert sum(data["states"].values()) == sum(len(o["weeks"]) for o in data["offerings"])
    csv_lines = cli.ok("tracker", "report", "--csv").stdout.splitlines()
    assert csv_lines[0] == "id,module,facilitator,week,state"
    assert f"{logged['A']},CS101,ana@uni.edu,3,missing" in csv_lines
    page = tmp_path / "compliance.html"
    result = cli.ok("tracker", "report", "--html", str(page))
    assert "wrote" in result.stderr
    text = page.read_text()
    assert text.startswith("<!doctype html>")
    assert "CS101" in text
    assert "title='week 3: missing'" in text
    # The state's word is in the cell (read out, and what a copy of the table gives);
    # the glyph beside it is shown only.
    assert (
        "<span class='glyph' aria-hidden='true'>✗</span><span class='word'>missing</span>" in text
    )
    assert "<main>" in text
    assert '<caption id="caption">' in text
    assert "Weekly activity compliance: running offerings; as of 2026-02-01 12:00 UTC" in text
    assert "<ul class='figures'><li><strong>40%</strong> complete: 2 of 5 due weeks</li>" in text
    assert '<svg class="trend" role="img"' in text
    assert "print-color-adjust:exact" in text
    assert "@media print" in text
    assert "<strong>2</strong>" in text  # the legend's counts
    for external in ("http://", "https://", "<script", "<link"):
        assert external not in text


def test_a_report_of_nothing_says_so(cli: Cli, logged: dict[str, int], tmp_path: Path) -> None:
    nothing = cli.ok("tracker", "report", "--module", "XX999")
    assert nothing.stdout == ""
    assert "no offerings match (module XX999)" in nothing.stderr
    assert cli.ok("tracker", "report", "--module", "XX999", "--json").json()["offerings"] == []
    page = tmp_path / "none.html"
    cli.ok("tracker", "report", "--trimester", "3", "--html", str(page))
    assert "No offerings match." in page.read_text()


def test_report_is_for_managers(cli: Cli, logged: dict[str, int]) -> None:
    cli.login("ana@uni.edu")
    assert cli("tracker", "report").exit_code == 5


def test_delete(cli: Cli, logged: dict[str, int]) -> None:
    a = str(logged["A"])
    assert cli("tracker", "delete", "--offering", a, "--week", "1").exit_code == 2
    cli.ok("tracker", "delete", "--offering", a, "--week", "1", "--yes")
    assert cli("tracker", "show", "--offering", a, "--week", "1").exit_code == 3
    assert cli("tracker", "delete", "--offering", a, "--week", "1", "--yes").exit_code == 3
    assert cli("tracker", "delete", "--offering", "999", "--week", "1", "--yes").exit_code == 3
    events = [
        e
        for e in cli.ok("audit", "list", "--entity", "log", "--json").json()[::-1]
        if e["action"] == "delete"
    ]
    assert events[0]["before"]["complete"] is True
    cli.login("ana@uni.edu")
    assert cli("tracker", "delete", "--offering", a, "--week", "2", "--yes").exit_code == 5


def test_due_dates_follow_the_time_zone_and_grace(cli: Cli, logged: dict[str, int]) -> None:
    a = str(logged["A"])
    env = {"CMS_TIMEZONE": "Europe/Paris", "CMS_GRACE_HOURS": "0"}
    shown = cli.ok("tracker", "show", "--offering", a, "--week", "1", "--json", env=env).json()
    assert shown["due_at"] == "2026-01-11T23:00:00+00:00"


def test_interactive_form_on_a_terminal(
    cli: Cli, logged: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no field option on a TTY, a form asks each field showing the current value."""
    monkeypatch.setattr("cms_cli.tracker.commands.interactive", lambda: True)
    a = str(logged["A"])
    cli.login("ana@uni.edu")
    # Six statuses (Enter keeps the current one), who was absent, notes, confirmation.
    # (tests/core/test_terminal.py drives the same form through a real terminal.)
    answers = "done\n\n\np\n\n\nsue@uni.edu\nquiet week\ny\n"
    result = cli("tracker", "log", "--offering", a, "--week", "2", "--json", input=answers)
    assert result.exit_code == 0, result
    shown = result.json()
    assert shown["formative_one_grading"] == "done"
    assert shown["formative_two_grading"] == "not-started"
    assert shown["course_moderation"] == "pending"
    assert shown["attendance"] == {"sam@uni.edu": True, "sue@uni.edu": False}
    assert shown["notes"] == "quiet week"
    assert "Formative one grading [done]" in result.stderr  # the value kept on Enter


def test_no_form_off_a_terminal(cli: Cli, logged: dict[str, int]) -> None:
    cli.login("ana@uni.edu")
    quiet = cli("tracker", "log", "--offering", str(logged["A"]), "--week", "2", "--json")
    assert quiet.exit_code == 0  # nothing given, nothing asked: the log is left as it was
    assert quiet.json()["formative_one_grading"] == "done"


def test_delete_of_a_week_without_a_log_is_not_asked_about(
    cli: Cli, logged: dict[str, int]
) -> None:
    """Nobody is asked to confirm deleting a log there is not: exit 3 before the question."""
    gone = cli("tracker", "delete", "--offering", str(logged["A"]), "--week", "7")
    assert gone.exit_code == 3
    assert "no log for week 7" in gone.stderr
