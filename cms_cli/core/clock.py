"""Every "now" of cms comes from here, so tests and ``CMS_NOW`` can move it."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, tzinfo

from cms_cli.core.errors import ValidationError


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time; naive values are taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationError(f"not an ISO 8601 date-time: {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first instant there is
        raise ValidationError(f"not an instant of the calendar: {text!r}") from None


def aware(value: datetime) -> datetime:
    """``value`` with its zone; a naive one (as some drivers read them back) is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def now() -> datetime:
    """The current instant, timezone-aware in UTC (``CMS_NOW`` freezes it)."""
    frozen = os.environ.get("CMS_NOW")
    if frozen:
        try:
            return parse_instant(frozen)
        except ValidationError as exc:
            raise ValidationError(
                f"CMS_NOW is not an ISO 8601 date-time: {frozen!r}",
                hint="e.g. CMS_NOW=2026-03-02T09:00:00+00:00",
            ) from exc
    return datetime.now(UTC)


def today(tz: tzinfo) -> date:
    """Today's date in the institution's time zone."""
    return now().astimezone(tz).date()


def wall() -> float:
    """The real UNIX time, never ``CMS_NOW``: for metrics, which Prometheus compares
    with its own clock (a heartbeat timestamp, the last sweep's), and for rate limits
    (their minutes are real ones)."""
    import time

    return time.time()
