"""The server's Prometheus metrics: requests by method, route and status, and their
durations (the official prometheus-client).

Under several uvicorn workers each process counts its own requests; `cms serve` gives
them one folder (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``)
and ``/metrics``, whichever worker answers, adds up every worker's files: one coherent
set of counters. A single process without that folder keeps its own registry.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

FOLDER = "PROMETHEUS_MULTIPROC_DIR"


def prepare(workers: int) -> str | None:
    """Before the workers start: a fresh folder for their metrics (or the one the
    operator set). Returns the folder made here, for the caller to remove at the end."""
    if os.environ.get(FOLDER):
        return None
    import tempfile

    folder = tempfile.mkdtemp(prefix="cms-metrics-")
    os.environ[FOLDER] = folder
    return folder


@cache
def _metrics() -> tuple[Any, Any, Any]:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    shared = bool(os.environ.get(FOLDER))
    registry = CollectorRegistry()
    requests = Counter(
        "cms_http_requests",
        "API requests by method, route and status.",
        ["method", "route", "status"],
        registry=None if shared else registry,
    )
    duration = Histogram(
        "cms_http_request_duration_seconds",
        "Time to answer an API request.",
        ["route"],
        registry=None if shared else registry,
    )
    if shared:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry, requests, duration


def observe(method: str, route: str, status: int, seconds: float) -> None:
    _, requests, duration = _metrics()
    requests.labels(method, route, str(status)).inc()
    duration.labels(route).observe(seconds)


def exposition() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    registry, _, _ = _metrics()
    return generate_latest(registry), CONTENT_TYPE_LATEST
