"""Reading CSV files users give us: UTF-8 (BOM tolerated), a header row, line numbers.

Files are streamed: rows are read as they are checked, so a file of any size costs the
memory of one chunk of rows, not of the whole file (bench/imports.py measures a 1 M-row
dry run). What a file is wrong about is collected by ``Problems``, which keeps the first
``Problems.LIMIT`` in file order and counts the rest.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from pydantic import ConfigDict

from cms_cli.core.base import Model
from cms_cli.core.errors import FileProblems, ValidationError
from cms_cli.core.text import shorten

Row = tuple[int, dict[str, str]]
Rows = list[Row]

#: Longest field accepted in a CSV cell (csv's own default is 128 KiB).
MAX_FIELD = 64 * 1024


class CsvImport(Model):
    """A CSV file to import: its path here (through `cms serve`, the server's copy of
    the bytes sent), the name its messages give it, and whether only to check it."""

    file: Path
    name: str | None = None
    dry_run: bool = False


class ImportReport(Model):
    """What an all-or-nothing import did: rows checked, records created (0 on a dry
    run) and, for an import that may also update (`tracker import`), records updated."""

    model_config = ConfigDict(frozen=True)

    created: int
    checked: int
    dry_run: bool
    updated: int | None = None
    #: Columns of the file that were left alone: the read-only ones a `--csv` export
    #: writes (an export, edited, imports as it is; import_result notes them).
    ignored: tuple[str, ...] = ()


class Problems:
    """``line N: ...`` problems of a file: the first LIMIT kept, the rest counted.
    ``label`` names what the numbers are (``offering 12: ...`` for a term's copy)."""

    LIMIT = 100

    def __init__(self, label: str = "line") -> None:
        self.label = label
        self.shown: list[tuple[int, str]] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.shown) < self.LIMIT:
            self.shown.append((line, message))

    def extend(self, found: Sequence[tuple[int, str]]) -> None:
        for line, message in sorted(found, key=lambda p: p[0]):
            self.add(line, message)

    def __bool__(self) -> bool:
        return self.count > 0

    def check(self, what: str = "nothing was imported") -> None:
        """FileProblems (exit 1) when any problem was found."""
        if not self.count:
            return
        lines = [f"{self.label} {line}: {message}" for line, message in self.shown]
        hidden = self.count - len(self.shown)
        if hidden:
            lines.append(f"... and {hidden} more problem(s) not shown")
        raise FileProblems(f"{self.count} problem(s) found; {what}", lines)


T = TypeVar("T")


def run_import(
    rows: Iterable[Row],
    *,
    size: int,
    check: Callable[[Rows, Problems], list[T]],
    write: Callable[[list[T]], int],
    dry_run: bool,
    progress: Callable[[], None] | None = None,
) -> tuple[int, int]:
    """An all-or-nothing streamed import, whatever it imports: each chunk of ``size``
    rows is checked (``check`` adds each bad row's problem and returns the good ones)
    and, while no problem has been found and this is not a dry run, written (``write``
    returns how many records it created). Returns (rows checked, records created);
    FileProblems (exit 1) when any row was bad: the caller's transaction then rolls
    back what was written."""
    problems = Problems()

    def handle(chunk: Rows) -> int:
        accepted = check(chunk, problems)
        if progress is not None:
            progress()
        if dry_run or problems or not accepted:
            return 0
        return write(accepted)

    return _in_chunks(rows, size, handle, problems)


def _in_chunks(
    rows: Iterable[Row], size: int, handle: Callable[[Rows], int], problems: Problems
) -> tuple[int, int]:
    """The skeleton of an all-or-nothing streamed import: ``handle`` gets the rows
    ``size`` at a time (and once more at the end, maybe with none), checks them into
    ``problems`` and writes what it may, returning how many it created. Returns (rows
    checked, records created); ValidationError for a file with no rows, FileProblems
    when any problem was found (the caller's transaction then rolls back all)."""
    checked = created = 0
    chunk: Rows = []
    for row in rows:
        chunk.append(row)
        checked += 1
        if len(chunk) >= size:
            created += handle(chunk)
            chunk = []
    created += handle(chunk)
    if not checked:
        raise ValidationError("the file has a header but no rows")
    problems.check()
    return checked, created


def _checked_lines(text: io.TextIOWrapper, path: str) -> Iterator[str]:
    """The file's lines (endings kept) as csv reads them; one clear error for bytes
    that are not UTF-8, or NUL bytes (a binary file)."""
    number = 0
    try:
        for number, line in enumerate(text, start=1):
            if "\x00" in line:
                raise ValidationError(f"{path}: not a CSV file (binary content on line {number})")
            yield line
    except UnicodeDecodeError:
        raise ValidationError(
            f"{path}: not UTF-8 text (line {number + 1})", hint="save the file as CSV UTF-8"
        ) from None


class CsvFile:
    """A CSV file opened for an import: the header checked at once, rows streamed.

    ``with CsvFile(path, required, optional) as f: for line, row in f: ...``; ``f.read``
    is the fraction of the file read so far (for a progress bar).
    """

    def __init__(
        self,
        path: Path,
        required: Sequence[str],
        optional: Sequence[str] = (),
        ignored: Sequence[str] = (),
        aliases: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """``name``: the file's name in messages, when ``path`` is a copy (an upload).
        ``ignored``: columns read past (the read-only ones of the `--csv` export the
        import reads back); ``aliases``: another name of a column (the export's)."""
        self.path = path
        self.name = name or str(path)
        self.required = tuple(required)
        self.optional = tuple(optional)
        self.ignored = tuple(ignored)
        self.aliases = dict(aliases or {})
        #: The ignored columns this file has.
        self.skipped: list[str] = []
        from cms_cli.core.files import open_regular

        self._raw = open_regular(path, self.name)
        try:
            self.size = max(path.stat().st_size, 1)
            if b"\x00" in self._raw.peek(8192)[:8192]:
                raise ValidationError(f"{self.name}: not a CSV file (binary content)")
            self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
            self._reader = csv.reader(_checked_lines(self._text, self.name), strict=True)
            self.header = self._read_header()
        except BaseException:
            self._raw.close()
            raise

    def _read_header(self) -> list[str]:
        csv.field_size_limit(MAX_FIELD)
        try:
            first = next(self._reader, None)
            while first is not None and not any(cell.strip() for cell in first):
                first = next(self._reader, None)
        except csv.Error as exc:
            raise ValidationError(f"{self.name}: line 1: not valid CSV ({exc})") from exc
        if first is None:
            raise ValidationError(
                f"{self.name}: the file is empty", hint="the first line names the columns"
            )
        header = [self.aliases.get(h.strip().lower(), h.strip().lower()) for h in first]
        self.skipped = [h for h in header if h in self.ignored]
        known = (*self.required, *self.optional)
        missing = [c for c in self.required if c not in header]
        if missing:
            raise ValidationError(
                f"{self.name}: missing column(s) {', '.join(missing)}",
                hint="the header must name: " + ",".join(known),
            )
        unknown = [h for h in header if h not in known and h not in self.ignored]
        if unknown:
            shown = ", ".join(shorten(h, 40) for h in unknown[:5])
            raise ValidationError(
                f"{self.name}: unknown column(s) {shown}",
                hint="the header may name: " + ",".join(known),
            )
        return header

    @property
    def read(self) -> float:
        """How much of the file has been read, 0..1."""
        try:
            return min(self._raw.tell() / self.size, 1.0)
        except (OSError, ValueError):
            return 1.0

    def __iter__(self) -> Iterator[Row]:
        reader, header, width = self._reader, self.header, len(self.header)
        skipped = set(self.skipped)
        start = reader.line_num + 1
        try:
            for record in reader:
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) > width:
                    raise ValidationError(
                        f"{self.name}: line {line}: {len(record)} fields, the header has {width}"
                    )
                yield (
                    line,
                    {
                        name: (record[i] if i < len(record) else "")
                        for i, name in enumerate(header)
                        if name not in skipped
                    },
                )
        except csv.Error as exc:
            raise ValidationError(
                f"{self.name}: line {reader.line_num}: not valid CSV ({exc})"
            ) from exc

    def close(self) -> None:
        text: io.TextIOWrapper | None = getattr(self, "_text", None)
        (text or self._raw).close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_rows(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> Rows:
    """Every (physical line, row) of a small file at once (e.g. an enrolment list)."""
    with CsvFile(path, required, optional) as file:
        return list(file)


#: An import's columns: required, optional, and (optionally) the read-only columns of
#: its export and the export's other names of columns (CsvFile).
Columns = tuple[Any, ...]


def import_csv(
    file: Path,
    name: str | None,
    columns: Columns,
    run: Callable[[CsvFile, Callable[[], None] | None], ImportReport],
    progress: Callable[[float], None] | None = None,
) -> ImportReport:
    """An import of ``file`` (an upload's copy named ``name``): its header checked, its
    rows streamed to ``run(rows, tick)``; ``tick`` tells ``progress`` how far it is."""
    with CsvFile(file, *columns, name=name) as rows:
        tick = None if progress is None else (lambda: progress(rows.read))
        report = run(rows, tick)
        if rows.skipped:
            report = report.model_copy(update={"ignored": tuple(rows.skipped)})
        return report


def upload(file: Path, dry_run: bool) -> CsvImport:
    """An import operation's input for ``file``, named in messages as it was given."""
    from cms_cli.core.files import display_name

    return CsvImport(file=file, name=display_name(file), dry_run=dry_run)


def header_first(columns: Columns) -> Callable[[CsvImport], CsvImport]:
    """Between an import's permission check and the import: the file's header read
    here (a file that cannot be imported is not sent to a server)."""

    def ask(data: CsvImport) -> CsvImport:
        with CsvFile(data.file, *columns, name=data.name):
            pass
        return data

    return ask
