"""How tracker's listings read for people: rows shaped for a terminal (percentages,
"no log", "never", relative times), the at-risk order and colours of attendance, its
count line, and the temporary page `report --open` shows. Scripts' output (--json,
--csv) never passes through here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cms_cli.core.text import percent, share


def shown_log(row: Mapping[str, Any]) -> dict[str, Any]:
    """A log's row for people: completion as a percentage, a week with no log at all
    said as such (not a 0% log), a blank facilitator as a dash, the deadline with how
    late it is ("21 Jul · 19 weeks late") and the last change with how long ago."""
    from cms_cli.core.relative import Ago, Due

    shown = dict(row)
    updated = row.get("updated_at")
    shown["completion"] = "no log" if updated is None else percent(row["completion"])
    shown["facilitator"] = row.get("facilitator") or "—"
    shown["due_at"] = Due(row["due_at"], met=bool(row.get("complete")))
    shown["updated_at"] = Ago(updated) if updated is not None else None
    return shown


def temporary_page() -> Path:
    import tempfile

    handle, name = tempfile.mkstemp(prefix="cms-report-", suffix=".html")
    os.close(handle)
    return Path(name)


def open_in_browser(page: Path) -> None:
    """The page in the person's browser (webbrowser: their default); said when none."""
    import webbrowser

    from cms_cli.core.output import message

    if not webbrowser.open(page.as_uri()):
        message(f"hint: no browser could be opened here; open {page} yourself")


def shown_totals(row: Mapping[str, Any]) -> dict[str, Any]:
    shown = dict(row)
    shown["overdue"] = row.get("late")
    # from the counts, not the stored one-decimal rate: 90.48 is 90%, never 90.5 -> 91%
    shown["rate"] = share(row.get("complete", 0), row.get("due", 0), none="nothing due")
    if "facilitator" in shown and shown["facilitator"] is None:
        shown["facilitator"] = "—"
    return shown


def at_risk_first(row: Any) -> tuple[bool, float, int, str]:
    """Lowest rate first (none recorded yet last), then the longest absence run."""
    rate = row.rate
    return (rate is None, rate if rate is not None else 0.0, -row.absent_run, row.student)


def attendance_count(rows: Any, below: float | None, status: str | None) -> str:
    """ "10 students below 75% in 7 active offerings" (all of them, without --below)."""
    from cms_cli.core.text import plural

    students = len({r.student for r in rows})
    offerings = len({r.offering_id for r in rows})
    under = f" below {percent(below)}" if below is not None else ""
    kind = f"{status} " if status else ""
    return f"{plural(students, 'student')}{under} in {offerings} {kind}offering" + (
        "" if offerings == 1 else "s"
    )


def rate_style(row: Mapping[str, Any], column: str) -> str | None:
    """Rates under 50% red, under 75% yellow, on a terminal."""
    if column != "rate":
        return None
    rate = row.get("_rate")
    if rate is None:
        return None
    return "bold red" if rate < 50 else "yellow" if rate < 75 else None


def shown_attendance(row: Mapping[str, Any]) -> dict[str, Any]:
    """For people: present/recorded together, a whole-percent rate ("none yet" before
    any week recorded attendance), "never" for a student never present."""

    shown = dict(row)
    rate = row.get("rate")
    shown["_rate"] = rate
    shown["present"] = f"{row.get('present', 0)}/{row.get('weeks_recorded', 0)}"
    shown["rate"] = share(row.get("present", 0), row.get("weeks_recorded", 0), none="none yet")
    if row.get("weeks_recorded") and row.get("last_present_week") is None:
        shown["last_present_week"] = "never"
    return shown
