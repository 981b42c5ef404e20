"""What a term meeting asks of the compliance report before any row: the headline, the
rows worst first, what is hidden, and the trend.

For people only (terminal and HTML): `tracker report --json` and `--csv` keep the
contract's order and fields, and every offering the filters match.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cms_cli.tracker.public import Report, ReportRow

DUE = ("complete", "overdue", "missing")
SPARKS = "▁▂▃▄▅▆▇█"


def running(data: Report) -> Report:
    """``data`` narrowed to its active offerings, with the totals of those."""
    return subset(data, [row for row in data.offerings if row.status == "active"])


def subset(data: Report, rows: Sequence[ReportRow]) -> Report:
    """A report of ``rows`` only, its totals counted again from their cells."""
    states: Counter[str] = Counter({state: 0 for state in data.states})
    for row in rows:
        states.update(row.weeks.values())
    expected = sum(states[s] for s in DUE)
    complete = states["complete"]
    return data.model_copy(
        update={
            "offerings": list(rows),
            "states": dict(states),
            "expected": expected,
            "complete": complete,
            "overdue": expected - complete,
            "submitted": complete + states["overdue"],
        }
    )


def row_counts(weeks: Mapping[str, str]) -> tuple[int, int, int]:
    """(weeks due, complete, overdue or missing) of one row."""
    due = sum(1 for s in weeks.values() if s in DUE)
    done = sum(1 for s in weeks.values() if s == "complete")
    return due, done, due - done


def ranked(data: Report) -> Report:
    """Rows worst first: the lowest share of due weeks complete, then the most weeks
    behind, then by id; rows with nothing due yet last."""

    def key(row: ReportRow) -> tuple[int, float, int, int]:
        due, done, behind = row_counts(row.weeks)
        return (0 if due else 1, done / due if due else 1.0, -behind, row.id)

    return data.model_copy(update={"offerings": sorted(data.offerings, key=key)})


def nothing_logged(data: Report) -> int:
    """Offerings with weeks due and not one log (every due week missing)."""
    return sum(
        1
        for row in data.offerings
        if any(s in DUE for s in row.weeks.values())
        and not any(s in ("complete", "overdue", "incomplete") for s in row.weeks.values())
    )


def current_week(data: Report, today: date) -> int | None:
    """The week of the term today, when every running row shown is in the same one."""
    weeks = {
        (today - row.start_date).days // 7 + 1
        for row in data.offerings
        if row.start_date is not None and row.status == "active"
    }
    return weeks.pop() if len(weeks) == 1 else None


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` in the one percentage format (core.text.percent)."""
    from cms_cli.core.text import share

    return share(part, whole)


def headline(data: Report, scope: str, week: int | None) -> str:
    """Line 1: "Active offerings, week 5: 53% complete: 32 of 60 due weeks · 20
    overdue · 8 missing · 2 offerings with nothing logged"."""
    from cms_cli.core.text import plural

    states = data.states
    when = f", week {week}" if week is not None else ""
    parts = [
        f"{percent(data.complete, data.expected)} complete: {data.complete} of "
        f"{plural(data.expected, 'due week')}",
        f"{states.get('overdue', 0)} overdue",
        f"{states.get('missing', 0)} missing",
    ]
    silent = nothing_logged(data)
    if silent:
        parts.append(f"{plural(silent, 'offering')} with nothing logged")
    return f"{scope}{when}: " + " · ".join(parts)


def figures(data: Report) -> list[tuple[str, str]]:
    """The headline as the page's figures: (value, what it counts)."""
    from cms_cli.core.text import plural

    states = data.states
    shown = [
        (
            percent(data.complete, data.expected),
            f"complete: {data.complete} of {plural(data.expected, 'due week')}",
        ),
        (str(states.get("overdue", 0)), "overdue"),
        (str(states.get("missing", 0)), "missing"),
    ]
    silent = nothing_logged(data)
    shown.append(
        (
            str(silent),
            "offerings with nothing logged" if silent != 1 else "offering with nothing logged",
        )
    )
    return shown


def hidden_line(hidden: dict[str, int]) -> str | None:
    """ "6 completed, 6 planned hidden: --all" (None when nothing is)."""
    order = ("completed", "planned", "cancelled")
    parts = [f"{hidden[s]} {s}" for s in order if hidden.get(s)]
    return f"{', '.join(parts)} hidden: --all" if parts else None


def trend(data: Report) -> list[tuple[int, float]]:
    """(week, share of that week's due cells complete) for each week of the term that
    is due somewhere: "are we improving?"."""
    due: Counter[int] = Counter()
    done: Counter[int] = Counter()
    for row in data.offerings:
        for week, state in row.weeks.items():
            if state in DUE:
                due[int(week)] += 1
                done[int(week)] += state == "complete"
    return [(w, done[w] / due[w]) for w in sorted(due)]


def sparkline(points: list[tuple[int, float]]) -> str:
    """One character per week, ▁ (none complete) to █ (all)."""
    return "".join(SPARKS[min(len(SPARKS) - 1, int(share * len(SPARKS)))] for _, share in points)


def share_of(fraction: float) -> str:
    """A share between 0 and 1 in the one percentage format."""
    from cms_cli.core.text import percent as as_percent

    return as_percent(100 * fraction)


def trend_line(points: list[tuple[int, float]]) -> str | None:
    if not points:
        return None
    (first, start), (last, end) = points[0], points[-1]
    return (
        f"trend, due weeks complete: {sparkline(points)}  week {first} "
        f"{share_of(start)} → week {last} {share_of(end)}"
    )


def svg(points: list[tuple[int, float]], *, width: int = 320, height: int = 80) -> str:
    """The trend as an inline SVG line (no script, no external asset), with its words
    for a screen reader."""
    import html

    if not points:
        return ""
    pad = 8
    span = max(1, len(points) - 1)
    xy = [
        (pad + (width - 2 * pad) * n / span, pad + (height - 2 * pad) * (1 - share))
        for n, (_, share) in enumerate(points)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    words = ", ".join(f"week {w} {share_of(s)}" for w, s in points)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>' for x, y in xy)
    return (
        f'<svg class="trend" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-label="{html.escape("Share of due weeks complete: " + words)}">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        f'class="axis"/><polyline points="{line}" class="line"/><g class="dots">{dots}</g></svg>'
    )
