"""The sweep's metrics as a node_exporter textfile, without importing prometheus-client.

A cron sweep with ``--metrics-file`` would otherwise spend ~60 ms importing the library
(its HTTP server, WSGI and TLS modules) to write a dozen lines: more than 5 % of a
large sweep. The text is Prometheus' exposition format 0.0.4 (tests parse it with the
library's own parser); the names and help texts are the ones the worker serves
(notify.metrics builds its gauges from ``SWEEP_GAUGES``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from cms_cli.core import clock

#: key -> (metric name, help): the last sweep, as gauges.
SWEEP_GAUGES = {
    "duration": ("cms_sweep_duration_seconds", "How long the last sweep took."),
    "created": ("cms_sweep_created", "Notifications the last sweep created."),
    "requeued": ("cms_sweep_requeued", "Older rows the last sweep handed over again."),
    "enqueued": ("cms_sweep_enqueued", "New rows the last sweep handed to the queue."),
    "last_success": (
        "cms_sweep_last_success_timestamp_seconds",
        "When the last sweep that succeeded ended (UNIX time).",
    ),
}


def _gauge(key: str, samples: list[tuple[str, float]]) -> str:
    name, text = SWEEP_GAUGES[key]
    lines = [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{labels} {float(value)!r}" for labels, value in samples]
    return "\n".join(lines)


def render_sweep(result: Any, seconds: float, now: float | None = None) -> str:
    parts = [
        _gauge("duration", [("", seconds)]),
        _gauge(
            "created",
            [('{kind="reminder"}', result.reminders), ('{kind="escalation"}', result.escalations)],
        ),
        _gauge("requeued", [("", result.requeued)]),
        _gauge("enqueued", [("", result.enqueued)]),
        _gauge("last_success", [("", clock.wall() if now is None else now)]),
    ]
    return "\n".join(parts) + "\n"


def write_sweep(path: Path, result: Any, seconds: float) -> None:
    """Write beside ``path`` and rename over it: node_exporter never reads half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(render_sweep(result, seconds))
        os.chmod(temporary, 0o644)  # node_exporter runs as another user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
