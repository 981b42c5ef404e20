"""The rules of an offering's values, in one place: the ladder's models check them
where they are made (create, update, each imported row), listings derive from them."""

from __future__ import annotations

from datetime import date

from cms_cli.catalog.public import Mode
from cms_cli.core import limits
from cms_cli.core.errors import ValidationError

STATUSES = ("planned", "active", "completed", "cancelled")


def weeks_between(start: date, end: date) -> int:
    """7-day weeks from start to end (both included), rounded up."""
    return ((end - start).days + 7) // 7


def status_of(start: date, end: date, cancelled: bool, today: date, closed: bool = False) -> str:
    """Derived from the dates on ``today``; cancelled, or completed once closed (`cms
    offering close`) whatever its dates say."""
    if cancelled:
        return "cancelled"
    if closed:
        return "completed"
    if today < start:
        return "planned"
    return "active" if today <= end else "completed"


def parse_mode(text: str) -> Mode:
    try:
        return Mode(text.strip().lower().replace("_", "-").replace(" ", "-"))
    except ValueError:
        raise ValidationError(f"mode must be online, in-person or hybrid (got {text!r})") from None


def parse_status(text: str) -> str:
    value = text.strip().lower()
    if value not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)} (got {text!r})")
    return value


def check_dates(
    start: date,
    end: date,
    *,
    names: tuple[str, str] = ("--start", "--end"),
    given: tuple[bool, bool] = (True, True),
) -> None:
    """Years within limits.FIRST_YEAR..LAST_YEAR, end not before start, at most
    limits.MAX_WEEKS weeks (create, update and import alike).

    Messages name what the person typed: the options by default, an import's columns
    with ``names``; a date kept from the stored offering (``given`` False) is called
    the offering's start or end."""
    limits.check_year(start, names[0])
    limits.check_year(end, names[1])
    if end < start:
        first = f"{names[0]} {start}" if given[0] else f"the offering's start, {start}"
        last = f"{names[1]} {end}" if given[1] else f"the offering's end, {end}"
        raise ValidationError(f"{last} is before {first}")
    weeks = weeks_between(start, end)
    if weeks > limits.MAX_WEEKS:
        raise ValidationError(
            f"{start}..{end} is {weeks} weeks: an offering lasts at most {limits.MAX_WEEKS}",
            hint="check the years; a longer course is several offerings",
        )


def check_capacity(value: int | None) -> None:
    if value is not None and not 1 <= value <= limits.MAX_STUDENTS:
        raise ValidationError(
            f"max_students must be 1 to {limits.MAX_STUDENTS} (got {value})"
            if value > 0
            else f"max_students must be at least 1 (got {value})"
        )
