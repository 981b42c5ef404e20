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
from cms_cli.core.tables import constant
from cms_cli.core.text import share
from cms_cli.tracker.headline import row_counts
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
#: One palette for the screen and for paper (each cell a background and its glyph's
#: colour, contrast >= 4.5:1): quiet when fine, loud when not. Complete is a light tint
#: with a dark glyph; incomplete a pale amber; overdue and missing saturated, missing the
#: darkest, so that in greyscale (or to an eye without colour) lightness alone orders
#: them: upcoming, complete, incomplete, overdue, missing. The glyphs carry the state
#: without colour at all.
HTML_COLOURS = {
    "upcoming": ("#ffffff", "#555555"),
    "complete": ("#e3f1e5", "#1b5e20"),
    "incomplete": ("#ffe9a8", "#4d3800"),
    "overdue": ("#c62828", "#ffffff"),
    "missing": ("#3d0000", "#ffffff"),
}
PRINT_COLOURS = HTML_COLOURS
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


def caption(filters: Any, at: datetime, *, running: bool = False) -> str:
    """What the report shows and when: "...: running offerings, trimester 1; as of ..."."""
    scope = describe(filters)
    if running:
        scope = "running offerings" + (f", {scope}" if scope != "all offerings" else "")
    return f"Weekly activity compliance: {scope}; as of {at:%Y-%m-%d %H:%M %Z}"


def totals_line(data: Report) -> str:
    """The totals over the weeks due, in the legend's words."""
    from cms_cli.core.text import plural
    from cms_cli.tracker.headline import percent

    expected = data.expected
    states = data.states
    late = expected - data.complete
    split = (
        f" ({states.get('overdue', 0)} overdue, {states.get('missing', 0)} missing)" if late else ""
    )
    return (
        f"{plural(expected, 'week')} due: {data.complete} complete "
        f"({percent(data.complete, expected)}), {late} not complete{split}; "
        f"{data.submitted} submitted"
    )


def _facilitators(offerings: Sequence[ReportRow]) -> tuple[list[str], str | None]:
    """Each offering's facilitator as the matrix shows it: the part before the @ when
    they all share one domain (named once, in the header), else the whole address."""
    emails = [o.facilitator for o in offerings]
    domains = {e.rpartition("@")[2] for e in emails if e}
    if len(domains) == 1:
        return [e.rpartition("@")[0] if e else "—" for e in emails], "@" + domains.pop()
    return [e or "—" for e in emails], None


def terminal(
    data: Report,
    console: Console,
    *,
    title: str,
    fit: bool,
    headline: str | None = None,
    notes: Sequence[str] = (),
    week: int | None = None,
) -> list[str]:
    """The matrix as lines, coloured when ``console`` shows colour: banded to
    ``console.width`` when ``fit``. ``headline`` comes first, then ``title`` and the
    ``notes`` (what is hidden); ``week``, the current week, is marked above its column.

    Rows are told apart: class and mode are shown beside the module, and a column whose
    value is the same on every row is left out and named once in the title instead
    (one class, one facilitator's own report). The facilitators' shared domain is named
    once too. Lines are built as strings from glyphs painted once (rich would take
    seconds over 12,000 rows)."""
    from rich.cells import cell_len

    from cms_cli.core.text import neutralise

    paint = _painter(console)
    glyph = {state: " " + paint(mark, style) + " " for state, (mark, style) in STYLE.items()}
    offerings = data.offerings
    most = max((len(o.weeks) for o in offerings), default=0)
    people, domain = _facilitators(offerings)
    columns: list[tuple[str, list[str]]] = [
        ("id", [str(o.id) for o in offerings]),
        ("module", [neutralise(o.module) for o in offerings]),
        ("class", [neutralise(o.class_code) for o in offerings]),
        ("mode", [o.mode for o in offerings]),
        ("facilitator", [neutralise(p) for p in people]),
    ]
    shared: list[str] = []
    kept = []
    for name, values in columns:
        same = constant(values) if name in ("class", "mode", "facilitator") else None
        if not any(values) or same is not None:
            if same:
                shared.append(f"{name} {same}{domain or '' if name == 'facilitator' else ''}")
            continue
        kept.append((name, values))
    widths = [max(cell_len(name), *(cell_len(v) for v in values)) for name, values in kept]
    label = sum(w + len(GAP) for w in widths)

    def too_wide() -> bool:
        return fit and label + WEEK * most > console.width

    # Too wide for the weeks: the facilitator gives way first (cut to FACILITATOR_CUT,
    # then as far as its header, then left out), class and mode last; then the weeks
    # go into bands.
    for floor in (FACILITATOR_CUT, len("facilitator"), 0):
        if not too_wide() or kept[-1][0] != "facilitator":
            break
        if floor == 0:
            label -= widths.pop() + len(GAP)
            kept.pop()
            continue
        cut = max(floor, widths[-1] - (label + WEEK * most - console.width))
        if widths[-1] > cut:
            label -= widths[-1] - cut
            widths[-1] = cut
            kept[-1] = (kept[-1][0], [_cut(v, cut) for v in kept[-1][1]])
    per = most
    if too_wide():
        per = max(4, (console.width - label) // WEEK)

    def row_label(values: Sequence[str]) -> str:
        parts = [
            f"{v:>{w}}" if n == 0 else _pad(v, w)
            for n, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return GAP.join(parts) + GAP

    labels = [row_label([values[n] for _, values in kept]) for n in range(len(offerings))]
    head = row_label([name for name, _ in kept])
    width = console.width if fit else 10_000
    named = [p for p in shared if not p.startswith("facilitator")]
    if domain and not any(p.startswith("facilitator") for p in shared):
        named.append(f"facilitators {domain}")
    named += [p for p in shared if p.startswith("facilitator")]
    lines: list[str] = []
    if headline:
        lines += [paint(part, "bold") for part in textwrap.wrap(headline, width)]
    subtitle = title + (f" ({'; '.join(named)})" if named else "")
    lines += textwrap.wrap(subtitle, width)
    for note in notes:
        lines += [paint(part, "dim") for part in textwrap.wrap(note, width)]
    for first in range(1, most + 1, per):
        last = min(most, first + per - 1)
        if per < most:
            lines += ["", paint(f"weeks {first} to {last}", "bold")]
        if week is not None and first <= week <= last:
            at = cell_len(head) + WEEK * (week - first) + 1  # the glyph's column
            mark = "▾ now" if at + 5 <= width else "now ▾"
            lines.append(" " * (at if mark[0] == "▾" else at - 4) + paint(mark, "bold"))
        numbers = "".join(
            paint(f"{w:>2}", "reverse bold") + " " if w == week else f"{w:>2} "
            for w in range(first, last + 1)
        ).rstrip()
        lines.append(paint(head, "bold") + numbers)
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


def page(
    data: Report,
    *,
    title: str,
    caption: str,
    figures: Sequence[tuple[str, str]] = (),
    notes: Sequence[str] = (),
    week: int | None = None,
    trend_svg: str = "",
    totals: Sequence[ReportTotals] | None = None,
    by: str | None = None,
) -> str:
    """A self-contained HTML page (no external assets): the headline as a few figures,
    the trend as an inline SVG line, then the matrix (or, with ``totals``, the table of
    `--by`). A cell carries its state's word (copied with the table, read out by a
    screen reader) beside its glyph (shown, never copied)."""
    offerings = data.offerings
    most = max((len(o.weeks) for o in offerings), default=0)
    states = data.states
    head = "".join(
        f"<th scope='col' class='wk{' now' if w == week else ''}'"
        + (f" aria-label='week {w}, this week'" if w == week else "")
        + f">{w}</th>"
        for w in range(1, most + 1)
    )
    extra = [
        (name, values)
        for name, values in (
            ("class", [o.class_code for o in offerings]),
            ("mode", [o.mode for o in offerings]),
        )
        if any(values) and constant(values) is None
    ]
    rows = []
    for n, offering in enumerate(offerings):
        cells = []
        for w in range(1, most + 1):
            state = offering.weeks.get(str(w))
            if state is None:
                cells.append("<td class='none'></td>")
            else:
                now = " now" if w == week else ""
                cells.append(
                    f"<td class='{state}{now}' title='week {w}: {state}'>"
                    f"<span class='glyph' aria-hidden='true'>{STYLE[state][0]}</span>"
                    f"<span class='word'>{state}</span></td>"
                )
        due, done, _ = row_counts(offering.weeks)
        more = "".join(f"<td>{html.escape(values[n])}</td>" for _, values in extra)
        rows.append(
            f"<tr><th scope='row' class='id'>{offering.id}</th>"
            f"<td class='module'>{html.escape(offering.module)}</td>{more}"
            f"<td class='who'>{html.escape(offering.facilitator or '—')}</td>"
            f"{''.join(cells)}<td class='count'>{done}</td><td class='count'>{due}</td></tr>"
        )
    extra_heads = "".join(f"<th scope='col'>{name}</th>" for name, _ in extra)
    figure_items = "".join(
        f"<li><strong>{html.escape(value)}</strong> {html.escape(label)}</li>"
        for value, label in figures
    )
    figures_html = f"<ul class='figures'>{figure_items}</ul>" if figures else ""
    notes_html = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)
    trend_html = (
        f"<figure class='trend'>{trend_svg}<figcaption>Share of due weeks complete, week by "
        "week</figcaption></figure>"
        if trend_svg
        else ""
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
{extra_heads}<th scope="col" class="who">facilitator</th>{head}
<th scope="col" class="count">complete</th><th scope="col" class="count">due</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</div>"""
        if offerings
        else f"<p id='caption'>{html.escape(caption)}</p>\n<p>No offerings match.</p>"
    )
    if totals is not None and by is not None:
        body = _totals_table(totals, by, caption)
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
.sr,.word{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}}
.glyph{{user-select:none;-webkit-user-select:none}}
th.now{{outline:3px solid #111;outline-offset:-3px}}
td.now{{box-shadow:inset 3px 0 0 #111,inset -3px 0 0 #111}}
ul.figures{{list-style:none;padding:0;margin:.4rem 0 .8rem;display:flex;flex-wrap:wrap;gap:.6rem}}
ul.figures li{{border:1px solid #999;border-radius:4px;padding:.4rem .7rem;min-width:7rem}}
ul.figures strong{{display:block;font-size:1.6rem;line-height:1.1}}
figure.trend{{margin:.2rem 0 .8rem}}
figure.trend figcaption{{font-size:.85rem;color:#444}}
svg.trend .line{{fill:none;stroke:#1a4fa0;stroke-width:2.5}}
svg.trend .dots{{fill:#1a4fa0}}
svg.trend .axis{{stroke:#999;stroke-width:1}}
p.note{{color:#444;margin:.2rem 0}}
table.totals td,table.totals th{{text-align:right}}
table.totals th:first-child,table.totals td:first-child{{text-align:left}}
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
{figures_html}
{notes_html}
{trend_html}
<p>{html.escape(totals_line(data))}.</p>
<ul class="legend">{legend_items}</ul>
{body}
</main>
</body>
</html>
"""


def _totals_table(totals: Sequence[ReportTotals], by: str, caption: str) -> str:
    """`--by` as a table: one row per group, worst first, and the total."""
    heads = (by, "offerings", "due", "complete", "overdue", "missing", "rate")
    rows = []
    for row in totals:
        rate = share(row.complete, row.due)  # from the counts (the rate has one decimal)
        name = "—" if row.group is None else str(row.group)
        cells = [name, row.offerings, row.due, row.complete, row.late, row.missing, rate]
        first = "th" if name == "total" else "td"
        shown = [
            f"<{first} scope='row'>"
            if i == 0 and first == "th"
            else f"<{first if i == 0 else 'td'}>"
            for i in range(len(cells))
        ]
        rows.append(
            "<tr>"
            + "".join(
                f"{opening}{html.escape(str(c))}</{first if i == 0 else 'td'}>"
                for i, (opening, c) in enumerate(zip(shown, cells, strict=True))
            )
            + "</tr>"
        )
    head = "".join(f"<th scope='col'>{h}</th>" for h in heads)
    return (
        f"<div class='scroll' role='region' aria-labelledby='caption' tabindex='0'>"
        f"<table class='totals'><caption id='caption'>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def ranked_totals(rows: Sequence[ReportTotals]) -> list[ReportTotals]:
    """`--by` for people: facilitators and modules ranked by their rate, lowest first
    (nothing due last), weeks in their order; then the total."""
    by_week = bool(rows) and all(isinstance(r.group, int) for r in rows)
    ordered = (
        list(rows)
        if by_week
        else sorted(rows, key=lambda r: (r.rate is None, r.rate or 0.0, -r.due, str(r.group)))
    )
    due = sum(r.due for r in rows)
    complete = sum(r.complete for r in rows)
    total = ReportTotals(
        group="total",
        offerings=sum(r.offerings for r in rows)
        if not by_week
        else max((r.offerings for r in rows), default=0),
        due=due,
        complete=complete,
        late=sum(r.late for r in rows),
        missing=sum(r.missing for r in rows),
        rate=round(100 * complete / due, 1) if due else None,
    )
    return [*ordered, total]


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
