"""Options shared by several commands, so the same thing has the same spelling everywhere."""

from __future__ import annotations

from typing import Any

import typer


def day(flag: str, help: str) -> Any:
    """A ``--flag YYYY-MM-DD`` option (parsed to a datetime; use ``.date()``)."""
    return typer.Option(flag, formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help=help)
