"""What a person sees at a real terminal, driven through a pseudo-terminal: tables that
fit 80 and 160 columns (no cell wraps, the important columns kept), the pager, and the
`tracker log` form that asks again instead of losing answers. Off a terminal: plain
tab-separated rows, no pager, no prompts."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
from conftest import Cli, create, set_name

from cms_cli.auth.models import UserPublic
from cms_cli.core.output import columns

USER_FIELDS = columns(UserPublic)

MODES = ("online", "in-person", "hybrid")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # output only


def terminal(
    cli: Cli, *args: str, columns: int = 80, lines: int = 200, env: dict[str, str] | None = None
) -> Any:
    """``cms ARGS`` on a pseudo-terminal ``columns`` wide, logged in as the CLI is."""
    token = cli.ok("auth", "token").stdout.strip()
    full = {**os.environ, **cli.env, "CMS_TOKEN": token, "TERM": "xterm", **(env or {})}
    for name in ("COLUMNS", "LINES", "NO_COLOR", "PAGER"):
        full.pop(name, None)
    full.update(env or {})
    return pexpect.spawn(
        sys.executable,
        ["-m", "cms_cli", *args],
        env=full,
        dimensions=(lines, columns),
        encoding="utf-8",
        timeout=30,
    )


def screen(cli: Cli, *args: str, columns: int, **kw: Any) -> list[str]:
    """What the command printed on the terminal, as lines without colour codes."""
    child = terminal(cli, *args, columns=columns, **kw)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    text = ANSI.sub("", child.before).replace("\r\n", "\n")
    return text.rstrip("\n").split("\n")


def width(line: str) -> int:
    from rich.cells import cell_len

    return cell_len(line)


@pytest.fixture
def busy(cli: Cli, term: dict[str, str]) -> Cli:
    """Twelve offerings, one with a very long facilitator address and cohort name."""
    long_mail = "maria.fernanda.de.los.angeles.gutierrez@faculty.uni.edu"
    cli.add_user(long_mail, "facilitator", "Maria Gutierrez")
    cli.ok("cohort", "add", "Cohort of the Evening Programme for Working Adults")
    combos = [(m, k, o) for m in ("CS101", "MA201") for k in ("2026J", "2026K") for o in MODES]
    for number, (module, klass, mode) in enumerate(combos):
        who = [long_mail, "ana@uni.edu", "ben@uni.edu", None][number % 4]
        create(
            cli,
            *(("--facilitator", who) if who else ()),
            module=module,
            klass=klass,
            mode=mode,
            cohort="Cohort of the Evening Programme for Working Adults"
            if number == 0
            else "Cohort A",
            start=f"2026-{1 + number % 9:02d}-05",
            end=f"2026-{2 + number % 9:02d}-27",
        )
    return cli


@pytest.mark.parametrize("columns", [80, 160])
def test_tables_fit_the_terminal_and_never_wrap_a_cell(busy: Cli, columns: int) -> None:
    shown = screen(busy, "offering", "list", "--no-pager", columns=columns)
    assert all(width(line) <= columns for line in shown), "\n".join(shown)
    title, header, _rule, *rows = shown
    # values every row shares are named once ("weeks 8; enrolled 0") when room is short
    assert title.startswith("Offerings (")
    assert "weeks 8" in title
    assert len(rows) == 12  # one line per offering: nothing wrapped
    for kept in ("id", "module", "facilitator", "start date"):
        assert kept in header
    if columns == 80:
        assert "weeks" not in header
        assert "cohort" not in header
        # class and mode tell CS101 2026J online from CS101 2026K hybrid: they stay
        assert "class" in header
        assert "mode" in header
        assert any("…" in row for row in rows)  # the long address is cut, not wrapped
        assert len({re.sub(r"^\s*\d+\s+", "", row) for row in rows}) > 6
    else:  # room for more columns, and for the long values whole
        for column in ("class", "mode", "status"):
            assert column in header
        # the 50-character cohort goes before class and mode would (issue 27.2)
        assert "cohort" not in header
        assert "…" not in "\n".join(rows)
        assert "maria.fernanda.de.los.angeles.gutierrez@faculty.uni.edu" in "\n".join(rows)


def test_a_column_the_same_on_every_row_goes_first_and_is_named_once(busy: Cli) -> None:
    """Ana's own listings: her address on every row is said once in the title, and the
    room goes to what tells her rows apart."""
    busy.login("ana@uni.edu")
    shown = screen(busy, "offering", "list", "--no-pager", columns=80)
    title, header, _rule, *rows = shown
    assert title.startswith("Offerings (")
    assert "facilitator ana@uni.edu" in title
    assert "facilitator" not in header
    assert "class" in header
    assert "mode" in header
    assert rows
    assert not any("ana@uni.edu" in row for row in rows)
    # Room enough for everything: nothing is left out, nothing named in the title.
    wide = screen(busy, "offering", "list", "--no-pager", columns=200)
    assert wide[0].strip() == "Offerings"
    assert "facilitator" in wide[1]
    # Piped, every column is there on every row, for cut and grep.
    piped = busy.ok("offering", "list").stdout.splitlines()
    assert "facilitator" in piped[0].split("\t")
    assert all("ana@uni.edu" in line for line in piped[1:])


def test_a_shared_value_named_in_the_title_is_shown_as_typed(
    cli: Cli, term: dict[str, str]
) -> None:
    """Stored text in a title is never read as markup: "[/bold]" in an address, or
    "[evening]" in a cohort's name, is shown as it is (was an internal error, or lost)."""
    odd = "x[/bold]y@uni.edu"
    cli.add_user(odd, "facilitator", "X Y")
    cli.ok("cohort", "add", "[evening] Cohort")
    for klass in ("2026J", "2026K"):
        create(cli, "--facilitator", odd, klass=klass, cohort="[evening] Cohort")
    shown = screen(cli, "offering", "list", "--no-pager", columns=60)
    header = next(n for n, line in enumerate(shown) if line.startswith("id "))
    title = " ".join(line.strip() for line in shown[:header])  # wrapped at 60 columns
    assert f"facilitator {odd}" in title
    assert "cohort [evening] Cohort" in title


def test_times_read_relatively_on_a_terminal_and_whole_in_a_pipe(
    cli: Cli, logged: dict[str, int]
) -> None:
    """Now is Sun 1 Feb 2026 12:00 UTC. Offering A's week 2 (a log, not complete) ended
    Sun 18 Jan; with 48 h of grace it was due by the end of Tue 20 Jan."""
    a = str(logged["A"])
    shown = screen(cli, "tracker", "list", "--offering", a, "--no-pager", columns=160)
    header = shown[1]
    assert re.search(r"\bdue\b", header)
    assert "updated" in header
    week = {int(line.split()[1]): line for line in shown[3:] if re.match(r"\s*\d+\s+\d+", line)}
    assert "20 Jan · 11 days late" in week[2]  # 11½ days: whole days, counted down
    assert "1 Feb 12:00 · just now" in week[2]  # logged by the fixture "now"
    assert "13 Jan" in week[1]
    assert "late" not in week[1]
    overdue = screen(cli, "tracker", "list", "--status", "missing", "--no-pager", columns=160)
    assert any("27 Jan · 4 days late" in line for line in overdue)
    # Piped: absolute times only, for sort and grep; JSON keeps ISO 8601.
    piped = cli.ok("tracker", "list", "--offering", a).stdout
    assert "late" not in piped
    assert "ago" not in piped
    assert "\t2026-01-21 00:00 UTC\t" in piped
    logs = cli.ok("tracker", "list", "--offering", a, "--json").json()
    assert {log["week"]: log["due_at"] for log in logs}[2] == "2026-01-21T00:00:00+00:00"
    # A month later the same logs read a month later (the wording: test_relative.py).
    later = screen(
        cli,
        "tracker",
        "list",
        "--offering",
        a,
        "--no-pager",
        columns=160,
        env={"CMS_NOW": "2026-03-01T09:00:00+00:00"},
    )
    assert any("20 Jan · 5 weeks late" in line for line in later)
    assert any("1 Feb 12:00 · 3 weeks ago" in line for line in later)


def test_notify_list_keeps_kind_drops_an_empty_column_and_says_when(
    cli: Cli, logged: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cms_cli.notify import delivery

    cli.ok("notify", "sweep")
    shown = screen(cli, "notify", "list", "--no-pager", columns=80)
    header = shown[1]
    assert "kind" in header
    assert "last error" not in header  # empty on every row: left out at any width
    assert all(width(line) <= 80 for line in shown)
    wide = screen(cli, "notify", "list", "--no-pager", columns=200)
    assert "last error" not in wide[1]
    assert "sent" not in wide[1].split()
    assert any("1 Feb 12:00 · just now" in line for line in wide)
    assert "last_error" in cli.ok("notify", "list").stdout.splitlines()[0]  # piped: every one
    narrow = screen(cli, "notify", "list", "--no-pager", columns=60)
    title = " ".join(
        line.strip()
        for line in narrow[: narrow.index(next(line for line in narrow if line.startswith("id ")))]
    )
    assert "ago" not in title  # a time left out is never named in the title
    monkeypatch.setenv("CMS_NOW", cli.env["CMS_NOW"])  # delivered in-process, at "now"
    for row in cli.ok("notify", "list", "--json").json():
        delivery.deliver(row["id"], cli.config())
    cli.login("ana@uni.edu")
    later = {"CMS_NOW": "2026-02-01T12:02:00+00:00"}
    inbox = screen(cli, "inbox", "--no-pager", columns=160, env=later)
    assert "received" in inbox[1]
    assert sum("1 Feb 12:00 · 2 min ago" in line for line in inbox[3:]) == 2
    # At 80 columns the subject is cut before the time goes, even when every row has
    # the same time (a time is never moved into the title).
    narrow = screen(cli, "inbox", "--no-pager", columns=80, env=later)
    assert narrow[0].rstrip() == "Inbox"
    assert sum("1 Feb 12:00 · 2 min ago" in line for line in narrow[3:]) == 2
    assert all(width(line) <= 80 for line in narrow)
    # --all tells read from unread, in a short column that stays
    cli.ok("inbox", "read", "--all")
    every = screen(cli, "inbox", "--all", "--no-pager", columns=80, env=later)
    assert every[1].split()[-1] == "read"
    assert all(line.rstrip().endswith("yes") for line in every[3:5])


def test_wide_shows_every_column_in_full(busy: Cli) -> None:
    shown = screen(busy, "offering", "list", "--wide", "--no-pager", columns=80)
    _, header, _, *rows = shown
    assert len(rows) == 12
    for column in ("class", "cohort", "end date", "weeks", "enrolled", "status"):
        assert column in header
    text = "\n".join(rows)
    assert "maria.fernanda.de.los.angeles.gutierrez@faculty.uni.edu" in text
    assert "Cohort of the Evening Programme for Working Adults" in text


@pytest.mark.parametrize("columns", [80, 160])
def test_every_listing_fits(busy: Cli, columns: int) -> None:
    busy.ok("offering", "enrol", "1", "--student", "sam@uni.edu", "--student", "sue@uni.edu")
    for args in (
        ("user", "list"),
        ("module", "list"),
        ("cohort", "list"),
        ("class", "list"),
        ("offering", "students", "1"),
        ("tracker", "list", "--status", "missing"),
        ("audit", "list"),
        ("notify", "list"),
    ):
        shown = screen(busy, *args, "--no-pager", columns=columns)
        assert all(width(line) <= columns for line in shown), (args, "\n".join(shown))


def test_the_report_fits_80_columns_and_bands_weeks_that_do_not(busy: Cli) -> None:
    # --all: every offering of the term, running or not (by default only the running)
    shown = screen(busy, "tracker", "report", "--all", "--no-pager", columns=80)
    assert all(width(line) <= 80 for line in shown), "\n".join(shown)
    rows = [line for line in shown if re.match(r"\s*\d+  ", line)]
    assert len(rows) == 12  # 12 weeks at most: one band
    assert any("maria.fernanda" in row and "…" in row for row in rows)  # cut, not wrapped
    # Narrower: the facilitator gives way (class and mode stay), then the weeks band.
    narrow = screen(busy, "tracker", "report", "--all", "--no-pager", columns=60)
    assert all(width(line) <= 60 for line in narrow), "\n".join(narrow)
    header = next(line for line in narrow if line.startswith("id  "))
    assert "facilitator" not in header
    assert "class" in header
    assert "mode" in header
    banded = screen(busy, "tracker", "report", "--all", "--no-pager", columns=44)
    assert all(width(line) <= 44 for line in banded), "\n".join(banded)
    assert any(line.startswith("weeks 1 to") for line in banded)


def test_long_output_goes_through_the_pager_on_a_terminal_only(busy: Cli, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    pager = tmp_path / "pager"
    pager.write_text(f"#!/bin/sh\ncat > {paged}\n")
    pager.chmod(0o755)
    env = {"PAGER": str(pager)}
    # taller than the screen: paged
    screen(busy, "offering", "list", columns=160, lines=10, env=env)
    assert "Offerings" in paged.read_text()
    paged.unlink()
    # --no-pager, or output that fits the screen: printed straight
    screen(busy, "offering", "list", "--no-pager", columns=160, lines=10, env=env)
    screen(busy, "offering", "list", columns=160, lines=40, env=env)
    assert not paged.exists()
    # off a terminal: never
    busy.ok("offering", "list", env=env)
    assert not paged.exists()


def test_off_a_terminal_rows_are_tab_separated_and_whole(busy: Cli, people: dict[str, str]) -> None:
    out = busy.ok("user", "list").stdout.splitlines()
    assert out[0].split("\t") == list(USER_FIELDS)
    rows = [line.split("\t") for line in out[1:]]
    assert all(len(row) == len(USER_FIELDS) for row in rows)
    assert "maria.fernanda.de.los.angeles.gutierrez@faculty.uni.edu" in [r[0] for r in rows]
    offerings = busy.ok("offering", "list").stdout
    assert "Cohort of the Evening Programme for Working Adults" in offerings  # nothing cut


def test_plain_rows_hold_no_stray_tab_or_newline(cli: Cli, people: dict[str, str]) -> None:
    """A name stored by another tool with a tab, a newline and an escape sequence: still
    one line of exactly as many fields, the controls shown, not obeyed."""
    set_name(cli.env["CMS_DATABASE_URL"], "ana@uni.edu", "Ana\tLopez\nEvil\x1b[2J")
    out = cli.ok("user", "list").stdout.splitlines()
    rows = [line.split("\t") for line in out]
    assert all(len(row) == len(USER_FIELDS) for row in rows)
    ana = next(row for row in rows if row[0] == "ana@uni.edu")
    assert ana[1] == "Ana\\x09Lopez Evil\\x1b[2J"


def test_human_listings_are_limited_and_say_how_many_more(busy: Cli) -> None:
    few = busy.ok("offering", "list", "--limit", "5")
    assert len(few.stdout.splitlines()) == 1 + 5
    assert "showing 5 of 12 offerings: --limit 0 shows all, --csv or --json for scripts" in (
        few.stderr
    )
    every = busy.ok("offering", "list", "--limit", "0")
    assert len(every.stdout.splitlines()) == 1 + 12
    assert every.stderr == ""
    # scripts' formats are never limited
    assert len(busy.ok("offering", "list", "--limit", "5", "--json").json()) == 12
    assert len(busy.ok("offering", "list", "--limit", "5", "--csv").stdout.splitlines()) == 13
    bad = busy("offering", "list", "--limit", "-1")
    assert bad.exit_code == 1
    assert "--limit" in bad.stderr


def test_the_default_limit_is_fifty(cli: Cli, manager: str, tmp_path: Path) -> None:
    lines = ["email,name,role"] + [f"s{i:03d}@uni.edu,Student {i},student" for i in range(60)]
    file = tmp_path / "users.csv"
    file.write_text("\n".join(lines) + "\n")
    cli.ok("user", "import", str(file))
    listed = cli.ok("user", "list")
    assert len(listed.stdout.splitlines()) == 1 + 50
    assert "showing 50 of 61 accounts" in listed.stderr


# -- the tracker log form --------------------------------------------------------------

PLAIN = {"NO_COLOR": "1"}  # prompts and messages as text, for the expectations below


@pytest.fixture
def two_active(cli: Cli, term: dict[str, str]) -> dict[str, int]:
    """Ana facilitates two offerings running on TERM_NOW (2026-02-01), one with students."""
    first = create(cli, "--facilitator", "ana@uni.edu", start="2026-01-05", end="2026-02-27")
    second = create(
        cli, "--facilitator", "ana@uni.edu", module="MA201", start="2026-01-12", end="2026-03-06"
    )
    cli.ok("offering", "enrol", str(first), "--student", "sam@uni.edu", "--student", "sue@uni.edu")
    cli.login("ana@uni.edu")
    return {"first": first, "second": second}


def test_the_form_asks_again_instead_of_losing_answers(
    cli: Cli, two_active: dict[str, int]
) -> None:
    child = terminal(cli, "tracker", "log", env=PLAIN)
    child.expect("several active offerings")
    child.expect(r"Which one\? \[1-2\]: ")
    child.sendline("7")  # out of range
    child.expect("type a number from 1 to 2 - try again")
    child.sendline("1")
    child.expect(r"Week \(1-8\) \[4\]: ")  # 2026-02-01 is in week 4 of the first offering
    child.sendline("")
    answers = ["x", "d", "p", "", "n", "done", "D"]  # "x": a typo, asked again
    child.expect(r"Formative one grading \[not-started\]: ")
    child.sendline(answers[0])
    child.expect("'x' is not a status: d \\(done\\), p \\(pending\\) or n \\(not started\\)")
    for answer in answers[1:]:
        child.expect(r"\]: ")
        child.sendline(answer)
    child.expect(r"1\) Sam Stu <sam@uni.edu>")
    child.expect(r"2\) Sue Stu <sue@uni.edu>")
    child.expect(r"Attendance \[not recorded yet\]: ")
    child.sendline("3")  # not on the list
    child.expect("not on the list")
    child.sendline("sue@uni.edu")
    child.expect(r"Notes \[none\]")
    child.sendline("Quiet week")
    child.expect("To be saved:")
    child.expect("1 present, absent: sue@uni.edu")
    child.expect(r"Completion\s+57%")
    child.expect(r"Save this week\? \[Y/n\]: ")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "saved: 57% complete" in child.before
    log = cli.ok("tracker", "show", "--offering", str(two_active["first"]), "--week", "4", "--json")
    data = log.json()
    assert (data["formative_one_grading"], data["formative_two_grading"]) == ("done", "pending")
    assert (data["summative_grading"], data["course_moderation"]) == ("not-started", "not-started")
    assert (data["intranet_sync"], data["grade_book_status"]) == ("done", "done")
    assert data["attendance"] == {"sam@uni.edu": True, "sue@uni.edu": False}
    assert data["notes"] == "Quiet week"


def test_the_form_keeps_values_on_enter_and_all_present_is_a_choice(
    cli: Cli, two_active: dict[str, int]
) -> None:
    first = str(two_active["first"])
    cli.ok("tracker", "log", "--offering", first, "--week", "2", "--summative", "done")
    child = terminal(cli, "tracker", "log", "--offering", first, "--week", "2", env=PLAIN)
    for _ in range(6):
        child.expect(r"\]: ")
        child.sendline("")
    child.expect(r"Attendance \[not recorded yet\]: ")
    child.sendline("a")
    child.expect(r"Notes \[none\]")
    child.sendline("")
    child.expect("all 2 present")
    child.expect(r"\[Y/n\]: ")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    data = cli.ok("tracker", "show", "--offering", first, "--week", "2", "--json").json()
    assert data["summative_grading"] == "done"  # kept
    assert data["attendance"] == {"sam@uni.edu": True, "sue@uni.edu": True}


def test_saying_no_writes_nothing(cli: Cli, two_active: dict[str, int]) -> None:
    first = str(two_active["first"])
    child = terminal(cli, "tracker", "log", "--offering", first, "--week", "3", env=PLAIN)
    for _ in range(6):
        child.expect(r"\]: ")
        child.sendline("d")
    child.expect(r"Attendance \[not recorded yet\]: ")
    child.sendline("")
    child.expect(r"Notes")
    child.sendline("")
    child.expect(r"\[Y/n\]: ")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "cancelled; nothing was saved" in child.before
    assert cli("tracker", "show", "--offering", first, "--week", "3").exit_code == 3


def test_ctrl_c_or_ctrl_d_in_the_form_says_cancelled_and_writes_nothing(
    cli: Cli, two_active: dict[str, int]
) -> None:
    first = str(two_active["first"])
    for key, code in (("\x03", 130), ("\x04", 1)):  # Ctrl-C, Ctrl-D
        child = terminal(cli, "tracker", "log", "--offering", first, "--week", "3", env=PLAIN)
        for _ in range(3):
            child.expect(r"\]: ")
            child.sendline("d")
        child.expect(r"\]: ")
        child.send(key)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == code, child.before
        said = ANSI.sub("", child.before).replace("\r\n", "\n")
        # the answer line ends (the terminal echoes ^C), then one plain sentence
        assert re.fullmatch(r"(\^C|\^D)?\ncancelled; nothing was saved", said.rstrip()), said
        assert "error:" not in said
        assert "Traceback" not in said
        assert cli("tracker", "show", "--offering", first, "--week", "3").exit_code == 3


def test_ctrl_c_at_a_confirmation_says_cancelled(cli: Cli, two_active: dict[str, int]) -> None:
    cli.login("dean@uni.edu")
    offering = str(two_active["second"])
    child = terminal(cli, "offering", "cancel", offering, env=PLAIN)
    child.expect(r"\[y/N\]: ")
    child.send("\x03")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    said = ANSI.sub("", child.before).replace("\r\n", "\n")
    assert re.fullmatch(r"(\^C)?\ncancelled; nothing was changed", said.rstrip()), said
    assert "Aborted" not in said
    assert cli.ok("offering", "show", offering, "--json").json()["status"] != "cancelled"


def test_with_field_options_a_terminal_only_asks_which_offering(
    cli: Cli, two_active: dict[str, int]
) -> None:
    child = terminal(
        cli, "tracker", "log", "--week", "1", "--formative-one", "done", "--json", env=PLAIN
    )
    child.expect(r"Which one\? \[1-2\]: ")
    child.sendline("2")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    shown = cli.ok("tracker", "show", "--offering", str(two_active["second"]), "--week", "1")
    assert "done" in shown.stdout


def test_off_a_terminal_nothing_prompts(cli: Cli, two_active: dict[str, int]) -> None:
    several = cli("tracker", "log", "--week", "1", "--formative-one", "done")
    assert several.exit_code == 2
    assert "several active offerings" in several.stderr
