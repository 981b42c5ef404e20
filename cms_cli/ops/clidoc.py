"""Generate docs/cli-reference.md from the commands' own --help.

    python -m cms_cli.ops.clidoc > docs/cli-reference.md

tests/ops/test_clidoc.py fails when the checked-in file is stale.
"""

from __future__ import annotations

from typing import Any


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    from cms_cli.main import app

    result = CliRunner().invoke(app, [*args, "--help"], prog_name="cms", env={"COLUMNS": "80"})
    return result.stdout.rstrip() + "\n"


def _subcommands(command: Any) -> list[str]:
    return sorted(getattr(command, "commands", {}) or {})


def render() -> str:
    from cms_cli.main import COMMANDS, load_command

    parts = [
        "# cms command reference\n",
        "Generated from each command's `--help` by `python -m cms_cli.ops.clidoc` "
        "(a test fails when it is stale). What every command promises: "
        "[conventions.md](conventions.md); exit codes: [exit-codes.md](exit-codes.md).\n",
        "## cms\n",
        "```text\n" + _help([]) + "```\n",
    ]
    for name in sorted(COMMANDS):
        command = load_command(name)
        parts.append(f"## cms {name}\n")
        parts.append("```text\n" + _help([name]) + "```\n")
        for sub in _subcommands(command):
            parts.append(f"### cms {name} {sub}\n")
            parts.append("```text\n" + _help([name, sub]) + "```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
