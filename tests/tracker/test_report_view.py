"""The compliance report as a term meeting reads it: the headline first, the running
term by default (and what is hidden), worst first, this week marked, the trend, rows
told apart; a league table with --by; the same in HTML; --json and --csv unchanged.

The term of conftest (now Sun 1 Feb 2026): A (CS101, ana, from 5 Jan: weeks 1-3 due,
1 complete) and B (MA201, ben, from 12 Jan: weeks 1-2 due, 1 complete)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from conftest import Cli, create

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def meeting(cli: Cli, logged: dict[str, int]) -> dict[str, int]:
    """The term, plus C (CS101 in-person, nothing logged: the worst), a planned one and
    a completed one."""
    c = create(cli, mode="in-person", start="2026-01-05", end="2026-03-27")
    planned = create(cli, module="MA201", cohort="Cohort B", start="2026-06-01", end="2026-08-21")
    done = create(cli, module="MA201", klass="2026K", start="2025-09-01", end="2025-11-21")
    return {**logged, "C": c, "planned": planned, "done": done}


def table_ids(text: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"^\s*(\d+)  ", text, flags=re.M)]


def test_headline_first_running_only_worst_first(cli: Cli, meeting: dict[str, int]) -> None:
    a, b, c = meeting["A"], meeting["B"], meeting["C"]
    shown = cli.ok("tracker", "report", "--no-pager").stdout
    lines = shown.splitlines()
    assert lines[0] == (
        "Running offerings: 25% complete: 2 of 8 due weeks · 1 overdue · 5 missing · "
        "1 offering with nothing logged"
    )
    assert "1 completed, 1 planned hidden: --all" in lines[2]
    assert table_ids(shown) == [c, a, b]  # 0 of 3, 1 of 3, 1 of 2
    assert table_ids(cli.ok("tracker", "report", "--sort", "id").stdout) == [a, b, c]
    # A and C differ only by mode: the mode column tells them apart.
    row_a = next(line for line in lines if re.match(rf"\s*{a}  ", line))
    row_c = next(line for line in lines if re.match(rf"\s*{c}  ", line))
    assert "online" in row_a
    assert "in-person" in row_c
    assert "trend, due weeks complete: " in lines[-1]
    everything = cli.ok("tracker", "report", "--all").stdout
    assert set(table_ids(everything)) == {a, b, c, meeting["planned"], meeting["done"]}
    assert "hidden" not in everything
    completed = cli.ok("tracker", "report", "--status", "completed").stdout
    assert table_ids(completed) == [meeting["done"]]
    assert cli("tracker", "report", "--sort", "worst").exit_code == 2


def test_scripts_keep_the_contract(cli: Cli, meeting: dict[str, int]) -> None:
    data = cli.ok("tracker", "report", "--json").json()
    assert list(data) == ["expected", "submitted", "complete", "overdue", "states", "offerings"]
    ids = [o["id"] for o in data["offerings"]]
    assert ids == sorted(ids)  # id order, every offering the filters match
    assert meeting["planned"] in ids
    assert meeting["done"] in ids
    assert all(list(o) == ["id", "module", "facilitator", "weeks"] for o in data["offerings"])
    header = cli.ok("tracker", "report", "--csv").stdout.splitlines()[0]
    assert header == "id,module,facilitator,week,state"


def test_one_term_shows_its_week_and_marks_it(cli: Cli, meeting: dict[str, int]) -> None:
    one = cli.ok("tracker", "report", "--module", "MA201", "--class", "2026J").stdout
    lines = one.splitlines()
    assert lines[0].startswith("Running offerings (module MA201, class 2026J), week 3: ")
    marker = next(line for line in lines if line.rstrip().endswith("▾ now"))
    header = lines[lines.index(marker) + 1]
    # the marker stands over week 3's column
    assert marker.index("▾") == header.index(" 3 ") + 1


def test_the_league_table(cli: Cli, meeting: dict[str, int], tmp_path: Path) -> None:
    league = cli.ok("tracker", "report", "--by", "facilitator").stdout
    rows = [line.split() for line in league.splitlines() if line.strip()]
    header = next(r for r in rows if r and r[0] == "facilitator")
    assert "overdue" in header
    assert "late" not in header
    names = [r[0] for r in rows[rows.index(header) + 1 :] if r[0] not in ("facilitator",)]
    assert names[-1] == "total"
    assert names.index("—") < names.index("ana@uni.edu")  # C's 0% before Ana's 33%
    page = tmp_path / "league.html"
    cli.ok("tracker", "report", "--by", "module", "--html", str(page))
    text = page.read_text()
    assert "<table class='totals'>" in text
    assert "<th scope='row'>total</th>" in text
    scripted = cli.ok("tracker", "report", "--by", "module", "--json").json()
    assert [r["module"] for r in scripted] == sorted(r["module"] for r in scripted)
    assert all("late" in r for r in scripted)  # the JSON field keeps its name


@pytest.mark.local_only("a pseudo-terminal of a real process")
@pytest.mark.parametrize("columns", [80, 160])
def test_in_a_terminal(cli: Cli, meeting: dict[str, int], columns: int) -> None:
    import pexpect

    env = {**os.environ, **{k: v for k, v in cli.env.items() if v is not None}}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "cms_cli", "tracker", "report", "--no-pager"],
        env=env,
        dimensions=(45, columns),
        encoding="utf-8",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    text = ANSI.sub("", child.before or "").replace("\r", "")
    lines = [line for line in text.splitlines() if line]
    assert lines[0].startswith("Running offerings: 25% complete")
    assert max(len(line) for line in lines) <= columns
    assert any("hidden: --all" in line for line in lines)
    assert any(line.startswith("trend, due weeks complete:") for line in lines)


@pytest.mark.local_only("opens a browser of this machine")
def test_open_writes_a_page_and_opens_it(cli: Cli, meeting: dict[str, int], tmp_path: Path) -> None:
    said = tmp_path / "opened.txt"
    browser = f"{sys.executable} -c \"import sys; open({str(said)!r}, 'w').write(sys.argv[1])\" %s"
    run = cli.subprocess("tracker", "report", "--open", env={"BROWSER": browser})
    assert run.exit_code == 0, run
    opened = said.read_text()
    assert opened.startswith("file://")
    page = Path(opened.removeprefix("file://"))
    assert "<ul class='figures'>" in page.read_text()
    page.unlink()
    assert cli("tracker", "report", "--open", "--json").exit_code == 2


def test_students_at_risk_ranked_with_a_count(cli: Cli, meeting: dict[str, int]) -> None:
    a = str(meeting["A"])
    cli.login("ana@uni.edu")
    cli.ok("tracker", "log", "--offering", a, "--week", "2", "--absent", "sue@uni.edu")
    cli.ok(
        "tracker", "log", "--offering", a, "--week", "3",
        "--absent", "sue@uni.edu", "--absent", "sam@uni.edu",
    )  # fmt: skip
    cli.login("dean@uni.edu")
    shown = cli.ok("tracker", "attendance", "--below", "75").stdout
    rows = [line.split("\t") for line in shown.splitlines()[1:]]
    assert [r[0] for r in rows] == ["sue@uni.edu", "sam@uni.edu"]  # 33% before 67%
    assert rows[0][3] == "1/3"  # present/recorded
    assert rows[0][4] == "33%"
    cut = cli.ok("tracker", "attendance", "--below", "75")
    # the count, then what the default left out (as the report says it)
    assert cut.stderr.splitlines() == [
        "2 students below 75% in 1 active offering",
        "1 completed, 1 planned hidden: --all",
    ]
    every = cli.ok("tracker", "attendance", "--below", "75", "--all")
    assert "hidden" not in every.stderr
    one = cli.ok("tracker", "attendance", "--offering", a)  # one offering asked for: no line
    assert "hidden" not in one.stderr
    assert "hidden" not in cli.ok("tracker", "attendance", "--status", "completed").stderr
    # A facilitator hears of their own offerings only (Ana has none planned or completed).
    cli.login("ana@uni.edu")
    assert "hidden" not in cli.ok("tracker", "attendance").stderr
    cli.login("dean@uni.edu")
    data = cli.ok("tracker", "attendance", "--below", "75", "--json").json()
    assert {r["student"] for r in data} == {"sue@uni.edu", "sam@uni.edu"}
    assert list(data[0]) == [
        "student", "offering_id", "module", "weeks_recorded", "present", "rate",
        "absent_run", "last_present_week",
    ]  # fmt: skip


def test_what_the_running_default_hides_is_said_cancelled_included(
    cli: Cli, meeting: dict[str, int]
) -> None:
    """--all shows cancelled offerings too, so the hidden-count line counts them; and
    when nothing running matches, the line is still said (it is the way to the rest)."""
    cli.ok("offering", "cancel", str(meeting["planned"]), "--yes")
    said = "1 completed, 1 cancelled hidden: --all"
    assert said in cli.ok("tracker", "report", "--no-pager").stdout
    assert cli.ok("tracker", "attendance").stderr.splitlines()[-1] == said
    only_done = cli.ok("tracker", "attendance", "--class", "2026K")
    assert only_done.stderr.splitlines() == [
        "no enrolled students match",
        "1 completed hidden: --all",
    ]


@pytest.mark.local_only("a pseudo-terminal of a real process")
def test_rates_at_risk_are_coloured_on_a_terminal(cli: Cli, meeting: dict[str, int]) -> None:
    import pexpect

    a = str(meeting["A"])
    cli.login("ana@uni.edu")
    cli.ok("tracker", "log", "--offering", a, "--week", "2", "--absent", "sue@uni.edu")
    cli.ok("tracker", "log", "--offering", a, "--week", "3", "--absent", "sue@uni.edu")
    cli.login("dean@uni.edu")
    env = {**os.environ, **{k: v for k, v in cli.env.items() if v is not None}}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "cms_cli", "tracker", "attendance", "--no-pager"],
        env={**env, "TERM": "xterm-256color", "FORCE_COLOR": "1"},
        dimensions=(30, 80),
        encoding="utf-8",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    text = (child.before or "").replace("\r", "")
    sue = next(line for line in text.splitlines() if "sue@uni.edu" in line)
    sam = next(line for line in text.splitlines() if "sam@uni.edu" in line)
    assert "\x1b[1;31m33%" in sue  # under 50%: red
    assert "\x1b[" not in sam.split("100%")[0][-12:]  # at 100%: plain
    assert "2 students in 1 active offering" in text
