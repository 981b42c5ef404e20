"""The server's Prometheus metrics: requests by method, route and status, and their
durations (the official prometheus-client, a registry of the process's own)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _metrics() -> tuple[Any, Any, Any]:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    requests = Counter(
        "cms_http_requests",
        "API requests by method, route and status.",
        ["method", "route", "status"],
        registry=registry,
    )
    duration = Histogram(
        "cms_http_request_duration_seconds",
        "Time to answer an API request.",
        ["route"],
        registry=registry,
    )
    return registry, requests, duration


def observe(method: str, route: str, status: int, seconds: float) -> None:
    _, requests, duration = _metrics()
    requests.labels(method, route, str(status)).inc()
    duration.labels(route).observe(seconds)


def exposition() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    registry, _, _ = _metrics()
    return generate_latest(registry), CONTENT_TYPE_LATEST
