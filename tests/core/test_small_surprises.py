"""Small surprises the adversarial review found, each now a clear answer."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, create


def test_a_non_utf8_password_on_stdin_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    env = {**os.environ, "CMS_HOME": str(tmp_path / "h"), "LC_ALL": "C"}
    for locale in ("C", "C.UTF-8"):
        env["LC_ALL"] = locale
        proc = subprocess.run(
            [sys.executable, "-m", "cms_cli", "auth", "bootstrap", "--email", "a@uni.edu",
             "--name", "A", "--password-stdin"],
            input=b"ab\xff\xfecdefgh\n", capture_output=True, env=env, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 1, proc
        assert proc.stderr.decode().startswith("error: the password on stdin is not UTF-8 text")


@pytest.mark.parametrize("what", ["user", "offering"])
def test_header_only_files_are_refused_by_both_imports(
    cli: Cli, term: dict[str, str], tmp_path: Path, what: str
) -> None:
    header = {
        "user": "email,name,role\n",
        "offering": "module,class,cohort,mode,start_date,end_date\n",
    }[what]
    file = tmp_path / "h.csv"
    file.write_text(header)
    for extra in ((), ("--dry-run",)):
        run = cli(what, "import", str(file), *extra)
        assert run.exit_code == 1, run
        assert run.stderr == "error: the file has a header but no rows\n"


def test_update_mode_conflict_names_the_mode_asked_for(cli: Cli, offerings: dict[str, int]) -> None:
    other = create(cli, mode="hybrid")
    run = cli("offering", "update", str(other), "--mode", "online")
    assert run.exit_code == 6, run
    assert "mode online already exists" in run.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("offering", "show", "999"), 3),
        (("module", "add", "CS101", "--name", "Again", "--credits", "3"), 6),
        (("class", "add", "X9Z", "--year", "1990", "--trimester", "1", "--intake", "FT"), 1),
        (("tracker", "list", "--status", "nonsense"), 1),
        (("offering", "cancel", "1"), 2),
    ],
)
def test_debug_never_changes_an_exit_code(
    cli: Cli, offerings: dict[str, int], args: tuple[str, ...], code: int
) -> None:
    plain = cli(*args)
    debug = cli("--debug", *args)
    assert plain.exit_code == debug.exit_code == code, (plain, debug)
    assert plain.stderr.splitlines()[-1] in debug.stderr


def test_debug_keeps_exit_4_and_5(cli: Cli, people: dict[str, str]) -> None:
    cli.login("sam@uni.edu")
    assert cli("--debug", "user", "list").exit_code == 5
    cli.ok("auth", "logout")
    assert cli("--debug", "user", "list").exit_code == 4


def test_the_embedded_database_is_private(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    env = {**os.environ, "CMS_HOME": str(home)}
    env.pop("CMS_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "cms_cli", "auth", "bootstrap", "--email", "d@uni.edu",
         "--name", "D", "--password-stdin"],
        input=b"correct-horse-9\n", env=env, capture_output=True, timeout=60,
        preexec_fn=lambda: os.umask(0o022),  # a umask that shares by default
    )  # fmt: skip
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home.parent).stat().st_mode) == 0o700
    database = home / "cms.db"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for extra in home.glob("cms.db-*"):
        assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0


def test_imports_report_the_first_hundred_problems_and_count_the_rest(
    cli: Cli, term: dict[str, str], tmp_path: Path
) -> None:
    junk = "Z" * 5000
    lines = ["module,class,cohort,mode,start_date,end_date"]
    lines += [f"{junk}{i},2026J,Cohort A,online,2026-01-05,2026-02-27" for i in range(250)]
    file = tmp_path / "junk.csv"
    file.write_text("\n".join(lines) + "\n")
    run = cli("offering", "import", str(file), "--dry-run")
    assert run.exit_code == 1
    out = run.stderr.splitlines()
    assert len(out) == 102
    assert out[0].startswith("line 2: unknown module 'ZZZ")
    assert all(len(line) < 140 for line in out), max(out, key=len)
    assert out[100] == "... and 150 more problem(s) not shown"
    assert out[101] == "error: 250 problem(s) found; nothing was imported"


def test_a_mistyped_command_suggests_the_right_one(cli: Cli) -> None:
    for typed, meant in (("offerings", "offering"), ("tracke", "tracker"), ("users", "user")):
        run = cli(typed, "list")
        assert run.exit_code == 2
        assert f"error: no such command '{typed}'. Did you mean '{meant}'?" in run.stderr
    assert "Did you mean" not in cli("zzz").stderr


def _number_parameters() -> list[tuple[list[str], str, bool]]:
    """Every whole-number or number parameter of every command: (command path, the
    option or argument's name, whether it is an option)."""
    from typer.core import TyperArgument, TyperOption

    from cms_cli.main import COMMANDS, load_command

    found = []

    def walk(command: Any, path: list[str]) -> None:
        for sub_name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, sub_name])
        for param in command.params:
            if isinstance(param, TyperOption | TyperArgument) and param.bare_type() in (
                "int",
                "list[int]",
                "float",
            ):
                found.append((path, param, command))

    for name in COMMANDS:
        walk(load_command(name), [name])
    return [
        (
            path,
            param.opts[0] if isinstance(param, TyperOption) else param.name,
            param.param_type_name == "option",
        )
        for path, param, _ in found
    ]


NUMBER_PARAMETERS = _number_parameters()


@pytest.mark.local_only("read from the command line before anything is asked of a server")
def test_a_number_that_is_not_one_is_named_with_what_was_given(cli: Cli) -> None:
    """`offering show abc`, `tracker log --week x`, `--below many`: one error line that
    names the parameter, says what it must be and echoes what was typed; the usage on
    one hint line; exit 2. No Click usage block, no pydantic wording (the whole class:
    every number parameter of every command)."""
    assert len(NUMBER_PARAMETERS) > 30
    for path, name, is_option in NUMBER_PARAMETERS:
        args = [*path, name, "abc"] if is_option else [*path, "abc", "abc", "abc"]
        run = cli(*args)
        assert run.exit_code == 2, (args, run.stderr)
        first, *rest = run.stderr.splitlines()
        assert re.fullmatch(r"error: \S+ must be a (whole )?number, got 'abc'", first), (
            args,
            first,
        )
        assert rest[0].startswith(f"hint: usage: cms {' '.join(path)} "), (args, rest)
        assert "Usage:" not in run.stderr
        assert "Input should" not in run.stderr
        assert len(rest) == 1
    show = cli("offering", "show", "abc")
    assert show.stderr.splitlines()[0] == "error: ID must be a whole number, got 'abc'"
    week = cli("tracker", "list", "--week", "1.5")
    assert week.stderr.splitlines()[0] == "error: --week must be a whole number, got '1.5'"


def test_other_command_lines_that_cannot_be_read_say_so_on_one_line(cli: Cli) -> None:
    for args, said in (
        (("offering", "show"), "error: missing argument ID"),
        (("offering", "list", "--bogus"), "error: no such option: --bogus"),
        (("--bogus",), "error: no such option: --bogus"),
        (("tracker", "log", "--week"), "error: option '--week' requires an argument"),
        (("cohort", "add"), "error: missing argument NAME"),
        (("notify", "list", "--kind", "x"), "error: no such option: --kind (did you mean --wide?)"),
    ):
        run = cli(*args)
        assert run.exit_code == 2, args
        assert run.stderr.splitlines()[0] == said, (args, run.stderr)
        assert run.stderr.splitlines()[1].startswith("hint: usage: cms"), (args, run.stderr)
        assert "Usage:" not in run.stderr


@pytest.mark.local_only("a client cannot see that the server's database is empty")
def test_an_empty_database_says_to_bootstrap_not_to_log_in(cli: Cli) -> None:
    empty = cli("offering", "list")
    assert empty.exit_code == 4
    assert "hint: this database has no account yet: cms auth bootstrap" in empty.stderr
    cli.bootstrap(strict=True)
    after = cli("offering", "list")
    assert after.exit_code == 4
    assert "hint: run cms auth login --email EMAIL" in after.stderr


def test_tables_people_read(cli: Cli, logged: dict[str, int]) -> None:
    """tracker list: 57 % not 57, a week with no log said as such; a blank facilitator
    is a dash; numbers right-aligned; the unread inbox has no always-empty column."""
    wide = {"COLUMNS": "200"}
    create(cli, module="MA201", klass="2026K", start="2026-01-05", end="2026-02-27")
    overdue = cli.ok("tracker", "list", "--status", "overdue", env=wide).stdout
    assert "14%" in overdue  # A week 2: one activity of seven
    assert "no log" in overdue  # A week 3: nothing logged
    offerings = cli.ok("offering", "list", env=wide).stdout
    assert "—" in offerings  # the new offering has no facilitator
    cli.ok("notify", "sweep")
    from cms_cli.notify import delivery

    config = cli.config()
    for row in cli.ok("notify", "list", "--json").json():
        delivery.deliver(row["id"], config)
    cli.login("ana@uni.edu")
    unread = cli.ok("inbox", env=wide).stdout
    assert unread.splitlines()[0].split("\t") == ["id", "created_at", "subject"]
    read_too = cli.ok("inbox", "--all", env=wide).stdout
    assert read_too.splitlines()[0].split("\t") == ["id", "created_at", "subject", "read_at"]


def test_enrolling_into_a_finished_offering_warns(cli: Cli, offerings: dict[str, int]) -> None:
    done = create(cli, mode="in-person", start="2025-09-01", end="2025-12-12")
    run = cli.ok("offering", "enrol", str(done), "--student", "sam@uni.edu")
    assert f"warning: offering {done} ended on 2025-12-12" in run.stderr
    current = cli.ok("offering", "enrol", str(offerings["A"]), "--student", "sue@uni.edu")
    assert "warning" not in current.stderr


@pytest.mark.local_only("a FIFO is refused on the machine that reads it, before any call")
def test_a_pipe_or_device_given_as_a_file_is_refused_not_waited_on(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    """A FIFO (or /dev/zero) where a file is expected would wait for a writer forever
    (or read without end): every file option refuses what is not a regular file."""
    import os

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    a = str(offerings["A"])
    for args in (
        ("reflection", "submit", str(fifo)),
        ("offering", "import", str(fifo)),
        ("tracker", "import", str(fifo)),
        ("user", "import", str(fifo)),
        ("offering", "enrol", a, "--file", str(fifo)),
        ("reflection", "submit", "/dev/zero"),
    ):
        run = cli.subprocess(*args)
        assert run.exit_code == 1, (args, run.stderr)
        assert "not a regular file" in run.stderr, (args, run.stderr)
    # Files a command writes: a FIFO nobody reads is refused at once, not waited on.
    out = tmp_path / "out.fifo"
    os.mkfifo(out)
    for args in (
        ("tracker", "report", "--html", str(out)),
        ("tracker", "deadlines", "--ics", str(out)),
    ):
        run = cli.subprocess(*args)
        assert run.exit_code == 1, (args, run.stderr)
        assert run.stderr.startswith(f"error: cannot write {out}: it is a pipe that nobody reads")
    # A password line without an end (/dev/zero) is refused, not read into memory.
    import subprocess
    import sys

    with open("/dev/zero", "rb") as zeros:
        proc = subprocess.run(
            [sys.executable, "-m", "cms_cli", "auth", "login", "--email", "ana@uni.edu",
             "--password-stdin"],
            stdin=zeros, capture_output=True, text=True, timeout=60,
            env={**os.environ, **cli.env},
        )  # fmt: skip
    assert proc.returncode == 1
    assert "longer than any password" in proc.stderr


@pytest.mark.local_only("the database URL of the machine the command runs on")
def test_a_database_whose_folder_cannot_be_made_is_unavailable(cli: Cli) -> None:
    run = cli("offering", "list", env={"CMS_DATABASE_URL": "sqlite:////proc/no/cms.db"})
    assert run.exit_code == 7
    assert run.stderr.startswith("error: database unavailable (sqlite:////proc/no/cms.db)")
    # usage read as typed: no "{name}", no "[ID...]..."
    assert (
        "hint: usage: cms notify retry [OPTIONS] [ID...] (-h for help)"
        in cli("notify", "retry", "x").stderr.splitlines()
    )


def test_a_group_alone_shows_its_help_not_an_error(cli: Cli) -> None:
    for args in ((), ("tracker",), ("db",)):
        run = cli(*args)
        said = run.stdout + run.stderr
        assert "error:" not in said
        assert "Usage: cms" in said
