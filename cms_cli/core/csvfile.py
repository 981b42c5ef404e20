"""Reading CSV files users give us: UTF-8 (BOM tolerated), a header row, line numbers."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cms_cli.core.errors import ValidationError

Rows = list[tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class ImportReport:
    """What an all-or-nothing import did: rows checked, records created (0 on a dry run)."""

    created: int
    checked: int
    dry_run: bool


def read_rows(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> Rows:
    """(physical line, row) pairs; the header is line 1. One clear error for a bad file."""
    try:
        data = path.read_bytes()
        if b"\x00" in data:
            raise ValidationError(f"{path}: not a CSV file (binary content)")
        text = data.decode("utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValidationError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read it ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as CSV UTF-8"
        ) from exc
    if not text.strip():
        raise ValidationError(f"{path}: the file is empty", hint="the first line names the columns")
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
        missing = [c for c in required if c not in header]
        if missing:
            raise ValidationError(
                f"{path}: missing column(s) {', '.join(missing)}",
                hint="the header must name: " + ",".join([*required, *optional]),
            )
        unknown = [h for h in header if h not in (*required, *optional)]
        if unknown:
            raise ValidationError(
                f"{path}: unknown column(s) {', '.join(unknown)}",
                hint="the header may name: " + ",".join([*required, *optional]),
            )
        rows: Rows = []
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header):
                raise ValidationError(
                    f"{path}: line {line}: {len(record)} fields, the header has {len(header)}"
                )
            values = {name: (record[i] if i < len(record) else "") for i, name in enumerate(header)}
            rows.append((line, values))
    except csv.Error as exc:
        raise ValidationError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from exc
    return rows
