"""Options shared by several commands, so the same thing has the same spelling everywhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer


def iso_day(flag: str) -> Callable[[str], datetime]:
    """A parser of a calendar day written YYYY-MM-DD, to a datetime at midnight.

    A value that is not one is invalid input (exit 1, like every other refused value),
    said once and naming the option: ``--start: expected YYYY-MM-DD, got 12/01/2027``.
    """

    def parse(value: str) -> datetime:
        try:
            return datetime.strptime(str(value).strip(), "%Y-%m-%d")
        except ValueError:
            from cms_cli.core.errors import ValidationError
            from cms_cli.core.text import shorten

            shown = shorten(str(value), 40)
            if _iso_shaped(str(value)):
                raise ValidationError(f"{flag}: {shown} is not a day of the calendar") from None
            raise ValidationError(f"{flag}: expected YYYY-MM-DD, got {shown}") from None

    return parse


def _iso_shaped(text: str) -> bool:
    parts = text.strip().split("-")
    return len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[0]) == 4


def day(flag: str, help: str) -> Any:
    """A ``--flag YYYY-MM-DD`` option (parsed to a datetime; use ``.date()``)."""
    return typer.Option(flag, parser=iso_day(flag), metavar="YYYY-MM-DD", help=help)


#: How `cms worker`, `cms notify sweep` and `cms serve` write their logs on stderr.
LogFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--log-format",
        envvar="CMS_LOG_FORMAT",
        metavar="plain|json",
        help="Logs on stderr: plain lines, or one JSON object per line (journald, ELK).",
    ),
]
