"""Listings for people: a table fitted to the terminal, plain rows when piped, a pager
when long.

On a terminal a table never wraps a cell: when it is wider than the screen, a column
whose value is the same on every row drops first (a facilitator's own address in their
own listing; its value is then named once in the title), then the columns a listing
names as least important (``drop``, in that order), then the widest values are cut
with ``…``; ``--wide`` shows every column in full. When
stdout is not a terminal, the same rows are printed as tab-separated lines with a
header and nothing cut (what ``gh`` does), so ``grep``, ``cut -f`` and ``sort`` work.
Long output on a terminal goes through ``$PAGER`` (else ``less -FRX``) unless
``--no-pager``; never off a terminal.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

#: Between two columns: one space of padding each side and the (blank) divider.
GAP = 3


@dataclass(frozen=True, kw_only=True)
class Grid:
    """A listing's cells as text, ready to lay out: header names and rows of strings."""

    keys: Sequence[str]
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: Sequence[bool]
    #: A rich style per cell on a terminal (None: plain), the shape of ``rows``.
    styles: Sequence[Sequence[str | None]] | None = None
    #: Columns that stay though every row has the same value (a measure, a time: the
    #: point of the listing), rather than being named once in the title.
    steady: frozenset[str] = frozenset()


def constant(values: Sequence[str]) -> str | None:
    """The one value every row has in a column (None when they differ, or when there
    are fewer than two rows: one row's values are all "the same")."""
    seen = set(values)
    return seen.pop() if len(seen) == 1 and len(values) > 1 else None


def fit(grid: Grid, width: int, drop: Sequence[str]) -> tuple[list[int], list[int]]:
    """The columns to show (indexes) and each one's width, for a screen ``width`` wide.

    Columns whose value is the same on every row go first (never the first column, the
    row's name), then those in ``drop``, in that order, until the rest fit at their
    natural width; then the widest columns are narrowed together (never below their
    header or six characters) so that the table fits, values being cut with ``…``.
    """
    from rich.cells import cell_len

    natural = natural_widths(grid)
    shown = list(range(len(grid.keys)))

    def total(indexes: list[int]) -> int:
        return sum(natural[i] for i in indexes) + GAP * (len(indexes) - 1)

    same = [
        grid.keys[i]
        for i in range(1, len(grid.keys))
        if grid.keys[i] not in grid.steady and constant(_column(grid, i))
    ]
    for key in [*same, *(k for k in drop if k not in same)]:
        if total(shown) <= width:
            break
        if key in grid.keys and len(shown) > 1:
            shown.remove(grid.keys.index(key))
    widths = [natural[i] for i in shown]
    excess = total(shown) - width
    if excess > 0:
        floors = [min(natural[i], max(cell_len(grid.headers[i]), 6)) for i in shown]
        widths = _narrow(widths, floors, excess)
    return shown, widths


def _narrow(widths: list[int], floors: list[int], excess: int) -> list[int]:
    """Take ``excess`` characters from the widest columns first ("water filling"),
    none below its floor. What cannot be taken is left (the terminal then wraps)."""
    widths = list(widths)
    while excess > 0:
        room = [w - f for w, f in zip(widths, floors, strict=True)]
        if max(room) <= 0:
            break
        widest = max(w for w, r in zip(widths, room, strict=True) if r > 0)
        candidates = [i for i, w in enumerate(widths) if w == widest and room[i] > 0]
        for i in candidates:
            if excess == 0:
                break
            widths[i] -= 1
            excess -= 1
    return widths


def table(grid: Grid, *, width: int, drop: Sequence[str], wide: bool, title: str | None) -> Table:
    """A rich table of ``grid`` that fits ``width`` (or shows everything, ``wide``)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if wide:
        shown, widths = list(range(len(grid.keys))), [0] * len(grid.keys)
    else:
        shown, widths = fit(grid, width, drop)
    named = titled(grid, shown, title)
    out = Table(
        # stored values may be named in it: shown as they are, never read as markup
        title=Text(named) if named is not None else None,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=False,
    )
    for index, size in zip(shown, widths, strict=True):
        out.add_column(
            grid.headers[index],
            justify="right" if grid.numeric[index] else "left",
            no_wrap=True,
            overflow="ellipsis",
            max_width=None if wide else size,
            min_width=None if wide else size,
        )
    for number, row in enumerate(grid.rows):
        paint = grid.styles[number] if grid.styles is not None else [None] * len(row)
        out.add_row(*(Text(row[i], style=paint[i] or "") for i in shown))
    return out


def titled(grid: Grid, shown: Sequence[int], title: str | None) -> str | None:
    """``title`` naming the values of the columns left out because every row has the
    same one: "Weekly logs (facilitator ana.lopez@uni.example)"."""
    named = []
    for index in range(len(grid.keys)):
        if index in shown or grid.keys[index] in grid.steady:  # a time, a measure: not here
            continue
        same = constant(_column(grid, index))
        if same:
            named.append(f"{grid.headers[index]} {same}")
    if not named:
        return title
    return f"{title or ''} ({'; '.join(named)})".strip()


def _column(grid: Grid, index: int) -> list[str]:
    return [row[index] for row in grid.rows]


def write_plain(grid: Grid) -> None:
    """Tab-separated rows with a header, nothing cut (for pipes and scripts that read
    human output). Cells never hold a tab or a newline (made visible before)."""
    write = sys.stdout.write
    write("\t".join(grid.keys) + "\n")
    write("".join("\t".join(row) + "\n" for row in grid.rows))


def natural_widths(grid: Grid) -> list[int]:
    """Each column's width with nothing cut: its widest value or its header."""
    from rich.cells import cell_len

    return [
        max([cell_len(h)] + [cell_len(row[i]) for row in grid.rows])
        for i, h in enumerate(grid.headers)
    ]


def natural_width(grid: Grid) -> int:
    """The whole table's width with every column and nothing cut."""
    return sum(natural_widths(grid)) + GAP * (len(grid.keys) - 1)


def show(console: Console, renderables: Sequence[RenderableType], *, pager: bool) -> None:
    """Print on the terminal, through the pager when the output is taller than the
    screen (and ``pager``). Off a terminal, print as is. Strings are lines already
    laid out, written as they are."""
    if all(isinstance(item, str) for item in renderables):
        # lines already laid out (and painted): written as they are, fast at any size
        text = "".join(f"{item}\n" for item in renderables)
        if not (pager and console.is_terminal and sys.stdout.isatty()):
            sys.stdout.write(text)
            return
    elif not (pager and console.is_terminal and sys.stdout.isatty()):
        for item in renderables:
            console.print(item)
        return
    else:
        with console.capture() as captured:
            for item in renderables:
                console.print(item)
        text = captured.get()
    if text.count("\n") < console.height or not _page(text):
        sys.stdout.write(text)
        sys.stdout.flush()


def pager_command() -> list[str] | None:
    """``$PAGER`` (a command line, as git reads it), else ``less -FRX``; None when
    there is none to run (``PAGER=cat`` or empty means no pager)."""
    chosen = os.environ.get("PAGER")
    if chosen is not None:
        words = shlex.split(chosen)
        if not words or words[0] == "cat" or shutil.which(words[0]) is None:
            return None
        return words
    if shutil.which("less") is None:
        return None
    return ["less", "-FRX"]


def _page(text: str) -> bool:
    """Hand ``text`` to the pager and wait for it; False when no pager could run."""
    command = pager_command()
    if command is None:
        return False
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")  # as git does: quit if one screen, keep colour
    env.setdefault("LV", "-c")
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    assert process.stdin is not None
    try:
        process.stdin.write(text.encode("utf-8", "replace"))
        process.stdin.close()
    except BrokenPipeError:
        pass  # the reader quit the pager before the end: nothing more to show
    while True:
        try:
            process.wait()
            return True
        except KeyboardInterrupt:
            continue  # Ctrl-C belongs to the pager (less stays open), as in git
