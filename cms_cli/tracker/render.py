"""The compliance report for people: a compact terminal matrix and a self-contained page.

The terminal matrix gives each week three characters (a glyph between spaces, the week
number above it), so that twelve weeks and readable module and facilitator columns fit
80 columns; when the weeks do not fit the screen they wrap into bands ("weeks 1 to 8",
"weeks 9 to 16"), each repeating the row labels. The footer counts every state the legend
shows. The page prints legibly with a browser's default settings (light tints, dark
glyphs), scrolls sideways on a phone with the id and module columns kept in view, and
names every cell for a screen reader ("week 3: missing").
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cms_cli.core.errors import UsageError
from cms_cli.tracker.public import ReportTotals

if TYPE_CHECKING:
    from rich.console import Console

    from cms_cli.tracker.public import Report, ReportRow

# A distinct glyph for each state, so the matrix reads without colour too (NO_COLOR, print).
STYLE = {
    "complete": ("✓", "bold green"),
    "incomplete": ("◐", "yellow"),
    "overdue": ("!", "bold red"),
    "missing": ("✗", "bold red"),
    "upcoming": ("·", "dim"),
}
MEANING = {
    "complete": "a complete log",
    "incomplete": "not yet due, a log not complete",
    "overdue": "due, the log is not complete",
    "missing": "due, no log",
    "upcoming": "not yet due, no log",
}
HTML_COLOURS = {  # screen: background, text (contrast >= 4.5:1)
    "complete": ("#1b5e20", "#ffffff"),
    "incomplete": ("#f9a825", "#000000"),
    "overdue": ("#b71c1c", "#ffffff"),
    "missing": ("#4a0000", "#ffffff"),
    "upcoming": ("#eeeeee", "#333333"),
}
PRINT_COLOURS = {  # paper: a light tint and a dark glyph, legible in greyscale too
    "complete": ("#e8f5e9", "#1b5e20"),
    "incomplete": ("#fff8e1", "#5d4200"),
    "overdue": ("#ffebee", "#8e0000"),
    "missing": ("#f3e0e0", "#4a0000"),
    "upcoming": ("#ffffff", "#555555"),
}
WEEK = 3  # characters a week takes in the terminal matrix
FACILITATOR_CUT = 24  # a facilitator's width when the weeks need the room
GAP = "  "


#: ``--csv`` of the report: one row per cell.
CELL_COLUMNS = ("id", "module", "facilitator", "week", "state")


def cells(data: Report) -> list[dict[str, Any]]:
    """The matrix as one row per (offering, week) cell, for ``--csv``."""
    return [
        {
            "id": o.id,
            "module": o.module,
            "facilitator": o.facilitator,
            "week": int(week),
            "state": state,
        }
        for o in data.offerings
        for week, state in o.weeks.items()
    ]


def describe(filters: Any) -> str:
    """The filters a report was made with, for its caption ("trimester 1, mode online")."""
    values: Mapping[str, Any] = (
        asdict(filters)
        if is_dataclass(filters) and not isinstance(filters, type)
        else dict(filters)
    )
    names = {"class_code": "class", "include_cancelled": "with cancelled"}
    parts = []
    for key, value in values.items():
        if value is None or value is False or key == "ids":
            continue
        name = names.get(key, key)
        parts.append(name if value is True else f"{name} {value}")
    return ", ".join(parts) or "all offerings"


def caption(filters: Any, at: datetime) -> str:
    return f"Weekly activity compliance: {describe(filters)}; as of {at:%Y-%m-%d %H:%M %Z}"


def totals_line(data: Report) -> str:
    """The totals over the weeks due, in the legend's words."""
    expected = data.expected
    rate = f"{100 * data.complete / expected:.0f}%" if expected else "n/a"
    states = data.states
    late = expected - data.complete
    split = (
        f" ({states.get('overdue', 0)} overdue, {states.get('missing', 0)} missing)" if late else ""
    )
    return (
        f"{expected} week(s) due: {data.complete} complete ({rate}), {late} not complete"
        f"{split}; {data.submitted} submitted"
    )


def _row_counts(weeks: Mapping[str, str]) -> tuple[int, int]:
    """(weeks due, of them complete) for one offering."""
    due = sum(1 for s in weeks.values() if s in ("complete", "overdue", "missing"))
    done = sum(1 for s in weeks.values() if s == "complete")
    return due, done


def _facilitators(offerings: Sequence[ReportRow]) -> tuple[list[str], str | None]:
    """Each offering's facilitator as the matrix shows it: the part before the @ when
    they all share one domain (named once, in the header), else the whole address."""
    emails = [o.facilitator for o in offerings]
    domains = {e.rpartition("@")[2] for e in emails if e}
    if len(domains) == 1:
        return [e.rpartition("@")[0] if e else "—" for e in emails], "@" + domains.pop()
    return [e or "—" for e in emails], None


def terminal(data: Report, console: Console, *, title: str, fit: bool) -> list[str]:
    """The matrix as lines, coloured when ``console`` shows colour: banded to
    ``console.width`` when ``fit``. The facilitators' shared domain is named once, in
    the title. Lines are built as strings from glyphs painted once (rich would take
    seconds over 12,000 rows)."""
    from rich.cells import cell_len

    from cms_cli.core.text import neutralise

    paint = _painter(console)
    glyph = {state: " " + paint(mark, style) + " " for state, (mark, style) in STYLE.items()}
    offerings = data.offerings
    most = max((len(o.weeks) for o in offerings), default=0)
    people, domain = _facilitators(offerings)
    ids = [str(o.id) for o in offerings]
    modules = [neutralise(o.module) for o in offerings]
    people = [neutralise(p) for p in people]
    heads = ("id", "module", "facilitator")
    w_id = max(cell_len(heads[0]), *(len(i) for i in ids))
    w_mod = max(cell_len(heads[1]), *(cell_len(m) for m in modules))
    w_fac = max(cell_len(heads[2]), *(cell_len(p) for p in people))
    label = w_id + len(GAP) + w_mod + len(GAP) + w_fac + len(GAP)
    if fit and label + WEEK * most > console.width and w_fac > FACILITATOR_CUT:
        # too wide: long addresses are cut (with …) before the weeks go into bands
        label -= w_fac - FACILITATOR_CUT
        w_fac = FACILITATOR_CUT
        people = [_cut(p, w_fac) for p in people]
    per = most
    if fit and label + WEEK * most > console.width:
        per = max(4, (console.width - label) // WEEK)

    def row_label(first: str, second: str, third: str) -> str:
        return f"{first:>{w_id}}{GAP}{_pad(second, w_mod)}{GAP}{_pad(third, w_fac)}{GAP}"

    labels = [row_label(ids[n], modules[n], people[n]) for n in range(len(offerings))]
    head = row_label(*heads)
    shared = f" (facilitators {domain})" if domain else ""
    width = console.width if fit else 10_000
    lines = [paint(part, "bold") for part in textwrap.wrap(title + shared, width)]
    for first in range(1, most + 1, per):
        last = min(most, first + per - 1)
        if per < most:
            lines += ["", paint(f"weeks {first} to {last}", "bold")]
        numbers = "".join(f"{w:>2} " for w in range(first, last + 1)).rstrip()
        lines.append(paint(head + numbers, "bold"))
        span = [str(w) for w in range(first, last + 1)]
        for number, offering in enumerate(offerings):
            weeks = offering.weeks
            cells = "".join(glyph[weeks[w]] if w in weeks else "   " for w in span)
            lines.append((labels[number] + cells).rstrip())
    lines.append("")
    lines += legend(data, paint, width)
    lines += textwrap.wrap(totals_line(data), width)
    return lines


def _painter(console: Console) -> Callable[[str, str], str]:
    """A function that wraps text in the terminal's codes for a style (none off colour)."""
    from rich.style import Style

    system = console.color_system
    if system is None or console.no_color:
        return lambda text, style: text
    from rich.color import ColorSystem

    chosen = {
        "truecolor": ColorSystem.TRUECOLOR,
        "256": ColorSystem.EIGHT_BIT,
        "standard": ColorSystem.STANDARD,
        "windows": ColorSystem.WINDOWS,
    }.get(system, ColorSystem.STANDARD)
    return lambda text, style: Style.parse(style).render(text, color_system=chosen)


def _cut(text: str, width: int) -> str:
    from rich.cells import cell_len, set_cell_size

    return text if cell_len(text) <= width else set_cell_size(text, width - 1) + "…"


def _pad(text: str, width: int) -> str:
    from rich.cells import cell_len

    return text + " " * (width - cell_len(text))


def legend(
    data: Report, paint: Callable[[str, str], str] | None = None, width: int = 10_000
) -> list[str]:
    """Each glyph, its state and how many cells are in it, in lines of ``width``."""
    states = data.states
    paint = paint or (lambda text, style: text)
    lines: list[str] = []
    used = 0
    for state, (mark, style) in STYLE.items():
        words = f"{state} {states.get(state, 0)}"
        size = 2 + len(words)
        if lines and used + 3 + size <= width:
            lines[-1] += f"   {paint(mark, style)} {words}"
            used += 3 + size
        else:
            lines.append(f"{paint(mark, style)} {words}")
            used = size
    return lines


def page(data: Report, *, title: str, caption: str) -> str:
    """A self-contained HTML page (no external assets) of the matrix."""
    offerings = data.offerings
    most = max((len(o.weeks) for o in offerings), default=0)
    states = data.states
    head = "".join(f"<th scope='col' class='wk'>{w}</th>" for w in range(1, most + 1))
    rows = []
    for offering in offerings:
        cells = []
        for week in range(1, most + 1):
            state = offering.weeks.get(str(week))
            if state is None:
                cells.append("<td class='none'></td>")
            else:
                name = f"week {week}: {state}"
                cells.append(
                    f"<td class='{state}' title='{name}'><span aria-hidden='true'>"
                    f"{STYLE[state][0]}</span><span class='sr'>{name}</span></td>"
                )
        due, done = _row_counts(offering.weeks)
        rows.append(
            f"<tr><th scope='row' class='id'>{offering.id}</th>"
            f"<td class='module'>{html.escape(offering.module)}</td>"
            f"<td class='who'>{html.escape(offering.facilitator or '—')}</td>"
            f"{''.join(cells)}<td class='count'>{done}</td><td class='count'>{due}</td></tr>"
        )
    screen = "".join(
        f".{state}{{background:{bg};color:{fg}}}" for state, (bg, fg) in HTML_COLOURS.items()
    )
    paper = "".join(
        f".{state}{{background:{bg};color:{fg}}}" for state, (bg, fg) in PRINT_COLOURS.items()
    )
    legend_items = "".join(
        f"<li><span class='key {s}' aria-hidden='true'>{STYLE[s][0]}</span> {s} "
        f"<span class='meaning'>({MEANING[s]})</span>: <strong>{states.get(s, 0)}</strong></li>"
        for s in STYLE
    )
    body = (
        f"""<div class="scroll" role="region" aria-labelledby="caption" tabindex="0">
<table>
<caption id="caption">{html.escape(caption)}</caption>
<thead><tr><th scope="col" class="id">id</th><th scope="col" class="module">module</th>
<th scope="col" class="who">facilitator</th>{head}<th scope="col" class="count">complete</th>
<th scope="col" class="count">due</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</div>"""
        if offerings
        else f"<p id='caption'>{html.escape(caption)}</p>\n<p>No offerings match.</p>"
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
*{{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
body{{font-family:system-ui,sans-serif;margin:1rem;color:#111;background:#fff;line-height:1.4}}
main{{max-width:100%}}
h1{{font-size:1.4rem;margin:.2rem 0 .6rem}}
.scroll{{overflow-x:auto;max-width:100%;border:1px solid #999;position:relative}}
.scroll:focus{{outline:3px solid #1a4fa0;outline-offset:2px}}
table{{border-collapse:separate;border-spacing:0;font-size:.9rem}}
caption{{text-align:left;padding:.4rem;font-weight:600;position:sticky;left:0;
max-width:calc(100vw - 3rem);white-space:normal}}
th,td{{border-right:1px solid #bbb;border-bottom:1px solid #bbb;padding:.2rem .4rem;
text-align:center;white-space:nowrap}}
thead th{{background:#f2f2f2}}
.id{{position:sticky;left:0;z-index:1;background:#fff;box-sizing:border-box;width:3.5rem;
min-width:3.5rem;max-width:3.5rem}}
.module{{position:sticky;left:3.5rem;z-index:1;background:#fff;text-align:left}}
thead .id,thead .module{{background:#f2f2f2;z-index:2}}
.who{{text-align:left}}
.count{{text-align:right;font-variant-numeric:tabular-nums}}
.sr{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}}
.key{{display:inline-block;min-width:1.5em;text-align:center;border:1px solid #777}}
ul.legend{{list-style:none;padding:0;margin:.6rem 0;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem}}
.meaning{{color:#444}}
{screen}
@media print{{
body{{margin:0;font-size:10pt}}
.scroll{{overflow:visible;border:none}}
.id,.module{{position:static}}
{paper}
}}
</style>
</head>
<body>
<main>
<h1>{html.escape(title)}</h1>
<p>{html.escape(totals_line(data))}.</p>
<ul class="legend">{legend_items}</ul>
{body}
</main>
</body>
</html>
"""


#: What `tracker report --by` groups by.
GROUPINGS = ("facilitator", "module", "week")


def totals_by(data: Report, by: str) -> list[ReportTotals]:
    """The matrix summed per facilitator, module or week (over the weeks already due),
    in the order of the key (a week by number; no facilitator last)."""
    if by not in GROUPINGS:
        raise UsageError(f"--by must be facilitator, module or week (got {by!r})")
    counts: dict[Any, dict[str, Any]] = {}
    for row in data.offerings:
        for week, state in row.weeks.items():
            key: Any = {"facilitator": row.facilitator, "module": row.module}.get(by, int(week))
            group = counts.setdefault(
                key, {"ids": set(), "due": 0, "complete": 0, "late": 0, "missing": 0}
            )
            group["ids"].add(row.id)
            if state in ("complete", "overdue", "missing"):
                group["due"] += 1
                group[{"complete": "complete", "overdue": "late", "missing": "missing"}[state]] += 1
    ordered = sorted(counts, key=lambda k: (k is None, k if k is not None else 0))
    return [
        ReportTotals(
            group=key,
            offerings=len(counts[key]["ids"]),
            due=counts[key]["due"],
            complete=counts[key]["complete"],
            late=counts[key]["late"],
            missing=counts[key]["missing"],
            rate=round(100 * counts[key]["complete"] / counts[key]["due"], 1)
            if counts[key]["due"]
            else None,
        )
        for key in ordered
    ]
