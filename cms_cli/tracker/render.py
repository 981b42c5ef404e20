"""The compliance report for people: a coloured terminal matrix and a self-contained page."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

# A distinct mark for each state, so the matrix reads without colour too (NO_COLOR, print).
STYLE = {
    "complete": ("✓", "bold green"),
    "incomplete": ("◐", "yellow"),
    "overdue": ("!", "bold red"),
    "missing": ("✗", "bold red"),
    "upcoming": ("·", "dim"),
}
HTML_COLOURS = {  # background, text: contrast >= 4.5:1
    "complete": ("#1b5e20", "#ffffff"),
    "incomplete": ("#f9a825", "#000000"),
    "overdue": ("#b71c1c", "#ffffff"),
    "missing": ("#4a0000", "#ffffff"),
    "upcoming": ("#eeeeee", "#333333"),
}


def totals_line(data: dict[str, Any]) -> str:
    expected = data["expected"]
    rate = f"{100 * data['complete'] / expected:.0f}%" if expected else "n/a"
    return (
        f"{expected} week(s) due · {data['submitted']} submitted · {data['complete']} complete "
        f"({rate}) · {data['overdue']} overdue"
    )


def terminal(data: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from cms_cli.core.output import stdout_console, text_cell

    most = max((len(o["weeks"]) for o in data["offerings"]), default=0)
    table = Table(title="Compliance", header_style="bold", pad_edge=False)
    table.add_column("id", justify="right")
    table.add_column("module")
    table.add_column("facilitator", overflow="ellipsis", max_width=28)
    for week in range(1, most + 1):
        table.add_column(str(week), justify="center", min_width=2)
    for offering in data["offerings"]:
        cells = []
        for week in range(1, most + 1):
            state = offering["weeks"].get(str(week))
            if state is None:
                cells.append(Text(""))
            else:
                mark, style = STYLE[state]
                cells.append(Text(mark, style=style))
        table.add_row(
            str(offering["id"]),
            text_cell(offering["module"]),
            text_cell(offering["facilitator"] or "—"),
            *cells,
        )
    console = stdout_console()
    console.print(table)
    legend = Text()
    for state, (mark, style) in STYLE.items():
        legend.append(f"{mark} ", style=style)
        legend.append(f"{state}   ")
    console.print(legend)
    console.print(totals_line(data))


def page(
    data: dict[str, Any], generated: datetime, title: str = "Weekly activity compliance"
) -> str:
    """A self-contained HTML page (no external assets) of the matrix."""
    most = max((len(o["weeks"]) for o in data["offerings"]), default=0)
    head = "".join(f"<th scope='col'>{w}</th>" for w in range(1, most + 1))
    rows = []
    for offering in data["offerings"]:
        cells = []
        for week in range(1, most + 1):
            state = offering["weeks"].get(str(week))
            if state is None:
                cells.append("<td></td>")
            else:
                cells.append(
                    f"<td class='{state}' title='week {week}: {state}'>{STYLE[state][0]}</td>"
                )
        rows.append(
            f"<tr><th scope='row'>{offering['id']}</th><td>{html.escape(offering['module'])}</td>"
            f"<td>{html.escape(offering['facilitator'] or '—')}</td>{''.join(cells)}</tr>"
        )
    css = "".join(
        f"td.{state}{{background:{bg};color:{fg}}}" for state, (bg, fg) in HTML_COLOURS.items()
    )
    legend = "".join(
        f"<li><span class='{s}'>{STYLE[s][0]}</span> {s}</li>" for s in HTML_COLOURS
    ).replace("<span class='", "<span class='key ")
    legend_css = "".join(
        f".key.{state}{{background:{bg};color:{fg}}}" for state, (bg, fg) in HTML_COLOURS.items()
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#111;background:#fff}}
table{{border-collapse:collapse;font-size:.9rem}}
th,td{{border:1px solid #999;padding:.25rem .45rem;text-align:center}}
td:nth-child(2),td:nth-child(3){{text-align:left}}
.key{{display:inline-block;width:1.4em;text-align:center}}
ul.legend{{list-style:none;padding:0;display:flex;gap:1.5rem}}
{css}{legend_css}
@media print{{body{{margin:0}}}}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>Generated {generated.isoformat(timespec="minutes")}. {html.escape(totals_line(data))}.</p>
<ul class="legend">{legend}</ul>
<table>
<thead><tr><th scope="col">id</th><th scope="col">module</th>
<th scope="col">facilitator</th>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
