"""cms doctor: is everything this installation needs there and working?"""

from __future__ import annotations

import typer

from cms_cli.core.output import JsonOpt

app = typer.Typer(rich_markup_mode=None, add_completion=False)

_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "down": "bold red"}


@app.command()
def doctor(json_: JsonOpt = False) -> None:
    """Check config, database and schema, queue, SMTP, keyring and time zone.

    Exit 0 when all is well, 7 when a backend is down, 1 otherwise.

    Example: cms doctor --json
    """
    from cms_cli.core.context import current
    from cms_cli.core.output import stdout_console, text_cell, write_json
    from cms_cli.ops.doctor import run

    report = run(current().config)
    if json_:
        write_json(
            {
                "ok": report.ok,
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail, "hint": c.hint}
                    for c in report.checks
                ],
            }
        )
    else:
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        for check in report.checks:
            table.add_row(
                check.name,
                text_cell(check.status, style=_STYLE[check.status]),
                text_cell(check.detail),
            )
            if check.hint and check.status != "ok":
                table.add_row("", "", text_cell(f"hint: {check.hint}", style="dim"))
        stdout_console().print(table)
    failing = [c.name for c in report.checks if c.status in ("fail", "down")]
    if failing:
        from cms_cli.core.errors import Unavailable, ValidationError

        error = Unavailable if report.exit_code == Unavailable.exit_code else ValidationError
        raise error("not healthy: " + ", ".join(failing), hint="see the hints above")
