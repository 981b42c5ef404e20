"""The lazy command registry and the start-up path."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cms_cli.main import COMMANDS, load_command

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "huey",
    "redis",
    "keyring",
    "bcrypt",
    "pymysql",
    "alembic",
    "rich",
)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registry_entry_imports_and_has_help(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert command.get_short_help_str() == COMMANDS[name][1]
    assert command.help, f"{name} has no help text"


def _help(*args: str, columns: int = 80) -> str:
    from typer.testing import CliRunner

    from cms_cli.main import app

    run = CliRunner().invoke(app, [*args, "--help"], prog_name="cms", env={"COLUMNS": str(columns)})
    assert run.exit_code == 0, run.output
    return run.stdout


def test_the_root_help_lists_every_command_once_by_who_uses_it() -> None:
    from cms_cli.main import SECTIONS

    listed = {name for _, entries in SECTIONS for name, _ in entries}
    assert listed == set(COMMANDS)  # every command is under someone
    shown = _help()
    at = [shown.index(f"\n{title}:\n") for title, _ in SECTIONS]
    assert at == sorted(at)
    assert "\nCommands:\n" not in shown
    for title, entries in SECTIONS:
        section = shown.split(f"\n{title}:\n")[1].split("\n\n")[0]
        assert [line.split()[0] for line in section.splitlines()] == [n for n, _ in entries]
        for name, said in entries:  # each in a section once, said for its readers
            assert f"{name.ljust(10)}  {said}" in section
    for title in ("Registry staff", "Facilitators", "Students", "Operators"):
        assert title in shown


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_fits_80_columns_and_cuts_no_summary(name: str) -> None:
    """Every group's list of subcommands gives each one's first sentence whole, wrapped
    in its column; no line of any help is wider than 80 columns."""
    command = load_command(name)
    pages = [(name,)] + [(name, sub) for sub in getattr(command, "commands", {})]
    for args in pages:
        shown = _help(*args)
        for line in shown.splitlines():
            assert len(line) <= 80, (args, line)
            if not line.startswith("Usage:"):
                assert not line.rstrip().endswith("..."), (args, line)
    for sub_name, sub in getattr(command, "commands", {}).items():
        first = " ".join((sub.help or "").split("\n\n")[0].split()).split(". ")[0]
        assert " ".join(_help(name, columns=200).split()).count(first.removesuffix(".")) >= 1, (
            sub_name
        )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_an_example(name: str) -> None:
    command = load_command(name)
    subcommands = getattr(command, "commands", {name: command})
    for sub_name, sub in subcommands.items():
        assert "Example:" in (sub.help or ""), f"cms {name} {sub_name} has no example in --help"


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from cms_cli.main import app\n"
        "try:\n"
        "    app(['--help'], prog_name='cms')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "HEAVY="


def test_completion_of_group_names_imports_nothing_heavy() -> None:
    code = (
        "import os, sys\n"
        "os.environ.update({'_CMS_COMPLETE': 'complete_bash',\n"
        "    'COMP_WORDS': 'cms a', 'COMP_CWORD': '1'})\n"
        "from cms_cli.main import app\n"
        "try:\n"
        "    app(prog_name='cms')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY=\n" in out.stdout + "\n"
    assert "audit" in out.stdout
    assert "auth" in out.stdout


def test_the_model_registry_names_every_models_module() -> None:
    """core.models is the one list of tables; a capability's models.py missing from it
    would be absent from processes that did not import it by chance."""
    from pathlib import Path

    import cms_cli
    from cms_cli.core.models import MODEL_MODULES

    root = Path(cms_cli.__file__).parent
    found = {
        "cms_cli." + ".".join(p.relative_to(root).with_suffix("").parts)
        for p in root.glob("*/models.py")
        if p.parent.name != "core"
    }
    assert set(MODEL_MODULES) == found


def test_a_fresh_process_has_every_table_once_it_has_an_engine() -> None:
    code = (
        "from sqlmodel import SQLModel\n"
        "from cms_cli.core.db import engine_for\n"
        "engine_for('sqlite://')\n"
        "print(','.join(sorted(SQLModel.metadata.tables)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    tables = set(out.stdout.strip().split(","))
    assert {"offering", "notification", "app_user", "weekly_log", "audit_event"} <= tables


def test_every_clock_read_goes_through_core_clock() -> None:
    """CMS_NOW moves every decision of one process, and nothing reads the time around
    it (a session, a lock or a deadline on another clock would be a hole)."""
    import re
    from pathlib import Path

    import cms_cli

    root = Path(cms_cli.__file__).parent
    reads = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.py")
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if reads.search(line)
    ]
    assert offenders == []
