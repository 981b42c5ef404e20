"""All output goes through here: tables for people, ``--json``/``--csv`` for scripts.

stdout carries data (tables, JSON, CSV, result sentences); stderr carries messages,
warnings and progress. Colour follows the TTY and ``NO_COLOR`` (rich decides).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cms_cli.core.errors import UsageError
from cms_cli.core.text import csv_cell, neutralise

if TYPE_CHECKING:
    from pydantic import TypeAdapter
    from rich.console import Console
    from rich.text import Text

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV (header row first) on stdout.")]

Row = Mapping[str, Any]


def _console_class() -> type[Console]:
    from rich.console import Console

    class PipeAwareConsole(Console):
        """Rich exits 1 itself when the reader of stdout goes away; cms lets the one
        error boundary end the command quietly instead (exit 141, like coreutils)."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return PipeAwareConsole


def stdout_console() -> Console:
    return _console_class()(soft_wrap=False, highlight=False)


def stderr_console() -> Console:
    return _console_class()(stderr=True, highlight=False)


def plain(value: Any) -> Any:
    """A JSON-ready value: dates as ISO 8601, enums as their value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _local_zone() -> Any:
    """The institution's time zone for tables (UTC when the settings cannot be read)."""
    try:
        from cms_cli.core.context import current

        return current().config().tz
    except Exception:
        return None


def _cell(value: Any, tz: Any = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        shown = value.astimezone(tz) if tz is not None and value.tzinfo is not None else value
        return shown.strftime("%Y-%m-%d %H:%M %Z").strip()
    value = plain(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralise(str(value), keep_newlines=True)


def text_cell(value: Any, tz: Any = None, *, style: str = "") -> Text:
    """A table cell that shows ``value`` literally: no rich markup read in it, control
    characters made visible (stored text can never drive the terminal)."""
    from rich.text import Text

    return Text(_cell(value, tz), style=style)


def _json_default(value: Any) -> Any:
    """json's hook for what it cannot encode itself: the same rules as ``plain``."""
    kind = type(value)
    if kind is date or kind is datetime:  # by far the most frequent: listings' dates
        return value.isoformat()
    if isinstance(value, datetime | date | Enum | Mapping):
        return plain(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _layout(data: Any, encode: Callable[[Any], str], indent: str = "") -> str:
    """Objects indented, key by key; every array one compact item per line."""
    inner = indent + "  "
    if isinstance(data, list) and data:
        return "[\n" + ",\n".join(inner + encode(i) for i in data) + "\n" + indent + "]"
    if isinstance(data, Mapping) and data:
        parts = [f"{inner}{encode(str(k))}: {_layout(v, encode, inner)}" for k, v in data.items()]
        return "{\n" + ",\n".join(parts) + "\n" + indent + "}"
    return encode(data)


def write_json(data: Any) -> None:
    """One JSON document on stdout (dates ISO 8601, enums as their values).

    Objects are indented; arrays, at any depth, have one compact item per line, which
    reads and greps well and keeps Python's fast C encoder for the bulk (indenting
    forces the slow one: three times slower on a 12,000-row listing).
    """
    encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    if isinstance(data, list) and data and hasattr(data[0], "model_dump"):
        data = as_rows(data)
    sys.stdout.write(_layout(as_data(data), encode) + "\n")


def _csv_value(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would run as a formula starts with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    value = plain(value)
    if isinstance(value, dict | list):
        return csv_cell(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return csv_cell(value) if isinstance(value, str) else value


def write_csv(rows: Iterable[Row], columns: Sequence[str]) -> None:
    """RFC 4180: a header row, CRLF line ends, quoting where needed."""
    writer = csv.writer(sys.stdout, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])


def choose(json_: bool, csv_: bool = False) -> str:
    """The output format of a command from its ``--json``/``--csv`` flags."""
    if json_ and csv_:
        raise UsageError("--json and --csv cannot be used together")
    return "json" if json_ else "csv" if csv_ else "table"


LimitOpt = Annotated[
    int,
    typer.Option(
        "--limit", metavar="N", help="Show at most N rows (0: all). --json and --csv show all."
    ),
]
WideOpt = Annotated[bool, typer.Option("--wide", help="Show every column, nothing cut.")]
NoPagerOpt = Annotated[
    bool, typer.Option("--no-pager", help="Print long output straight, without a pager.")
]
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class View:
    """How a person wants a listing shown: ``--limit``, ``--wide``, ``--no-pager``."""

    limit: int = DEFAULT_LIMIT
    wide: bool = False
    pager: bool = True

    @classmethod
    def of(cls, limit: int = DEFAULT_LIMIT, wide: bool = False, no_pager: bool = False) -> View:
        if limit < 0:
            from cms_cli.core.errors import ValidationError

            raise ValidationError(f"--limit: {limit} is out of range (0 shows every row)")
        return cls(limit=limit, wide=wide, pager=not no_pager)

    def fetch(self, json_: bool = False, csv_: bool = False) -> int:
        """How many rows to fetch for this view: every one for scripts (0), else the
        rows a person is shown."""
        return 0 if json_ or csv_ else self.limit


def columns(model: type[Any]) -> tuple[str, ...]:
    """A Public model's fields as shown (JSON keys, CSV header, table columns): in the
    model's order, by their shown name (``class_code`` is shown as ``class``)."""
    return tuple(f.alias or name for name, f in model.model_fields.items())


def as_data(value: Any) -> Any:
    """A Public model as the mapping it is shown as (fields by their shown names);
    anything else as it is."""
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True)
    return value


def as_rows(rows: Sequence[Any]) -> Sequence[Row]:
    """Rows to render: a service's Public models (pydantic) as their fields, in the
    model's order (one serialiser call for the whole list); mappings as they are."""
    if rows and hasattr(rows[0], "model_dump"):
        model: Any = rows[0].__class__
        dumped: list[Row] = _list_of(model).dump_python(list(rows), by_alias=True)
        return dumped
    return rows


@cache
def _list_of(model: Any) -> TypeAdapter[list[Any]]:
    from pydantic import TypeAdapter

    return TypeAdapter(list[model])


def listing(
    rows: Sequence[Any],
    columns: Sequence[str],
    *,
    json_: bool = False,
    csv_: bool = False,
    view: View | None = None,
    title: str | None = None,
    noun: str = "rows",
    empty: str = "nothing to show",
    table: tuple[Sequence[str], Callable[[Row], Row]] | None = None,
    drop: Sequence[str] = (),
    style: Callable[[Row, str], str | None] | None = None,
    footer: str | None = None,
    headers: Mapping[str, str] | None = None,
    keep: Sequence[str] = (),
) -> None:
    """Print a listing as a table (plain rows when piped), a JSON array or CSV.

    ``table`` optionally gives people other columns than scripts get: (columns, a
    function from a row to the table's row); a cell that is a core.relative ``Ago`` or
    ``Due`` reads "3 Dec 19:14 · 2 min ago" on a terminal and the absolute time when
    piped. ``headers`` renames the table's columns for people (the piped header keeps
    the keys). On a terminal a column that is empty on every shown row is left out
    (unless ``--wide``). A column whose value is the same on every shown row gives way
    first and is named in the title, unless it is in ``keep`` (a measure the listing is
    for) or holds times. ``drop`` names the table's columns that
    may go when the terminal is too narrow, least important first (core.tables).
    ``--json``/``--csv`` always carry every row; people get ``view.limit`` rows and a
    note on stderr of how many more match. ``style(row, column)`` colours a cell on a
    terminal (never in a pipe); ``footer`` is a last line for people (a count).
    """
    fmt = choose(json_, csv_)
    matching = getattr(rows, "total", 0)  # core.operation.Rows: a page of how many
    rows = as_rows(rows)
    if fmt == "json":
        same = not rows or list(rows[0]) == list(columns)
        write_json(rows if same else [{c: row.get(c) for c in columns} for row in rows])
        return
    if fmt == "csv":
        write_csv(rows, columns)
        return
    if not rows:
        stderr_console().print(empty)
        return
    from cms_cli.core import tables

    view = view or View()
    shown = rows if view.limit == 0 else rows[: view.limit]
    if table is not None:
        columns, shape = table[0], table[1]
        shown = [shape(row) for row in shown]
    tty = sys.stdout.isatty()
    tz = _local_zone()
    from cms_cli.core.clock import now as clock_now

    now = clock_now() if tty else None
    cells = [[_flat_cell(row.get(c), tz, now) for c in columns] for row in shown]
    names = [(headers or {}).get(c, c.replace("_", " ")) for c in columns]
    kept = list(range(len(columns)))
    if tty and not view.wide:
        kept = [i for i in kept if i == 0 or any(row[i] for row in cells)]
    grid = tables.Grid(
        keys=[columns[i] for i in kept],
        headers=[names[i] for i in kept],
        rows=[[row[i] for i in kept] for row in cells],
        numeric=[_numeric(shown, columns[i]) for i in kept],
        styles=([[style(row, columns[i]) for i in kept] for row in shown] if style else None),
        steady=frozenset(keep) | _timed(shown, columns),
    )
    if not tty:
        tables.write_plain(grid)
    else:
        console = stdout_console()
        width = max(console.width, tables.natural_width(grid)) if view.wide else console.width
        if view.wide:
            console.width = width
        laid = tables.table(grid, width=width, drop=drop, wide=view.wide, title=title)
        tables.show(console, [laid], pager=view.pager)
    if footer:
        message(footer)
    total = max(matching, len(rows))
    more = total - len(shown)
    if more:
        message(
            f"showing {len(shown)} of {total} {noun}: --limit 0 shows all, "
            "--csv or --json for scripts"
        )


def _numeric(rows: Sequence[Row], column: str) -> bool:
    numbers = [row.get(column) for row in rows if row.get(column) is not None]
    return bool(numbers) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in numbers
    )


def _timed(rows: Sequence[Row], columns: Sequence[str]) -> frozenset[str]:
    """The columns holding times for people (core.relative): never named in a title."""
    from cms_cli.core import relative

    kinds = (relative.Ago, relative.Due)
    return frozenset(c for c in columns if any(isinstance(row.get(c), kinds) for row in rows))


def _flat_cell(value: Any, tz: Any, now: datetime | None = None) -> str:
    """A cell on one line: newlines become spaces, tabs and other controls visible.
    A time for people (core.relative) reads relatively when ``now`` is given (a
    terminal), else as the absolute time."""
    from cms_cli.core import relative

    if isinstance(value, relative.Ago):
        return relative.ago_cell(value, tz, now) if now else _cell(value.at, tz)
    if isinstance(value, relative.Due):
        return relative.due_cell(value, tz, now) if now else _cell(value.at, tz)
    text = value if isinstance(value, str) else _cell(value, tz)
    return neutralise(text.replace("\n", " "))


def item(data: Any, *, json_: bool = False, title: str | None = None) -> None:
    """Print one object (a Public model or a mapping) as a two-column table or a JSON
    object."""
    data = as_data(data)
    if json_:
        write_json(data)
        return
    from rich.table import Table

    tz = _local_zone()
    from rich.text import Text

    # the title may hold typed or stored text (a profile's name): never read as markup
    shown = Text(title) if title is not None else None
    table = Table(title=shown, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in data.items():
        table.add_row(key.replace("_", " "), text_cell(value, tz))
    stdout_console().print(table)


def result(text: str) -> None:
    """A one-sentence result on stdout (no markup interpreted, control characters shown)."""
    sys.stdout.write(neutralise(text, keep_newlines=True) + "\n")


def message(text: str) -> None:
    """A message for the person at the terminal, on stderr."""
    sys.stderr.write(neutralise(text, keep_newlines=True) + "\n")


def warning(text: str) -> None:
    sys.stderr.write(f"warning: {neutralise(text, keep_newlines=True)}\n")


def when(value: datetime | None, tz: Any) -> str:
    """An instant for people: minutes, in the institution's time zone."""
    if value is None:
        return "never"
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def import_result(report: Any, noun: str, *, json_: bool) -> None:
    """The outcome of an import (a core.csvfile.ImportReport), for people or scripts."""
    if getattr(report, "ignored", ()):
        message(
            f"note: column(s) {', '.join(report.ignored)} ignored (read-only columns of the export)"
        )
    updates = report.updated is not None
    if json_:
        data = {"created": report.created, "checked": report.checked, "dry_run": report.dry_run}
        if updates:
            data = {"created": report.created, "updated": report.updated, **data}
        write_json(data)
    elif report.dry_run:
        # An import that only creates would create one record per row.
        created = report.created if updates else report.checked
        would = f"{created} {noun}(s) would be created" + (
            f", {report.updated} updated" if updates else ""
        )
        result(f"{report.checked} row(s) checked, all valid: {would} (dry run, nothing written).")
    elif updates:
        result(f"Created {report.created} {noun}(s), updated {report.updated}.")
    else:
        result(f"Created {report.created} {noun}(s).")
