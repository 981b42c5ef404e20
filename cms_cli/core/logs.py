"""Logs of the long-running and cron commands (`cms worker`, `cms notify sweep`).

Two formats on stderr: ``plain`` (one readable line per event) and ``json`` (one JSON
object per line, for journald and ELK): time, level, logger, event and message, and
the fields an event carries (notification, kind, recipient, channels, outcome,
attempt, duration, reason...). Chosen with ``--log-format`` or ``CMS_LOG_FORMAT``.
Huey's own per-task lines are kept to warnings: cms logs one line per delivery.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

FORMATS = ("plain", "json")

#: Extra fields a log call may carry (``log.info(..., extra={...})``), in JSON order.
EXTRA_FIELDS = (
    "event",
    "notification",
    "kind",
    "recipient",
    "channels",
    "outcome",
    "attempt",
    "duration",
    "reason",
    "reminders",
    "escalations",
    "requeued",
    "enqueued",
    "worker",
    "request_id",
    "where",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def __init__(self, *, debug: bool = False) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                data[name] = getattr(record, name)
        data["message"] = record.getMessage()
        if record.exc_info and self.debug:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """``2026-11-30 10:00:00,123 INFO cms.notify: message``; a traceback only in debug."""

    def __init__(self, *, debug: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.debug = debug

    def formatException(self, ei: Any) -> str:
        return super().formatException(ei) if self.debug else ""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.rstrip("\n")


def setup(fmt: str, *, debug: bool = False) -> None:
    """Send cms's INFO logs to stderr in ``fmt``; Huey's and others' at WARNING."""
    if fmt not in FORMATS:
        from cms_cli.core.errors import UsageError

        raise UsageError(f"--log-format must be plain or json (got {fmt!r})")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(debug=debug) if fmt == "json" else PlainFormatter(debug=debug)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("cms").setLevel(logging.INFO)
    logging.getLogger("huey").setLevel(logging.DEBUG if debug else logging.WARNING)
