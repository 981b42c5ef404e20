"""Prometheus metrics of the notification pipeline, with the official prometheus-client.

`cms worker --metrics-port N` serves them over HTTP (loopback unless --metrics-host);
`cms notify sweep --metrics-file PATH` writes the sweep's to a node_exporter textfile
(notify.textfile: the same names, without importing this library). docs/operations.md lists the
metrics, a scrape configuration and alert rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cms_cli.core.config import Config
from cms_cli.notify.textfile import SWEEP_GAUGES

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SweepMetrics:
    """The last sweep: how long, what it created, requeued and handed over, and when."""

    def __init__(self, registry: CollectorRegistry) -> None:
        spec = SWEEP_GAUGES
        self.duration = Gauge(*spec["duration"], registry=registry)
        self.created = Gauge(*spec["created"], ["kind"], registry=registry)
        self.requeued = Gauge(*spec["requeued"], registry=registry)
        self.enqueued = Gauge(*spec["enqueued"], registry=registry)
        self.last_success = Gauge(*spec["last_success"], registry=registry)
        self.sweeps = Counter(
            "cms_sweeps", "Sweeps run by this process.", registry=registry
        )  # exposed as cms_sweeps_total

    def swept(self, result: Any, seconds: float) -> None:
        from cms_cli.core import clock

        self.duration.set(seconds)
        self.created.labels("reminder").set(result.reminders)
        self.created.labels("escalation").set(result.escalations)
        self.created.labels("attendance").set(result.attendance)
        self.requeued.set(result.requeued)
        self.enqueued.set(result.enqueued)
        self.last_success.set(clock.wall())
        self.sweeps.inc()

    def delivered(self, kind: str, channels: Sequence[str], outcome: str, seconds: float) -> None:
        pass

    def heartbeat(self, at: float) -> None:
        pass


class WorkerMetrics(SweepMetrics):
    """What a worker serves: deliveries, their latency, retries, its heartbeat, and
    (read from the database at each scrape) the outbox by status and its oldest row."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        self.deliveries = Counter(
            "cms_deliveries",
            "Delivery attempts by kind, channel and outcome (sent, retry, failed).",
            ["kind", "channel", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "cms_delivery_duration_seconds",
            "Time to deliver one notification (claim, compose, send, record).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "cms_delivery_retries", "Failed attempts that will be tried again.", ["kind"],
            registry=registry,
        )  # fmt: skip
        self.beat = Gauge(
            "cms_worker_last_heartbeat_timestamp_seconds",
            "When this worker last recorded its heartbeat (UNIX time).",
            registry=registry,
        )

    def delivered(self, kind: str, channels: Sequence[str], outcome: str, seconds: float) -> None:
        for channel in channels:
            self.deliveries.labels(kind, channel, outcome).inc()
        if outcome == "sent":
            self.latency.observe(seconds)
        elif outcome == "retry":
            self.retries.labels(kind).inc()

    def heartbeat(self, at: float) -> None:
        self.beat.set(at)


class OutboxCollector(Collector):
    """cms_outbox_rows{status} and cms_outbox_oldest_waiting_seconds, read at scrape
    time in one statement. A database that cannot be read yields nothing (the scrape
    still answers; cms doctor says what is wrong)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def collect(self) -> Iterator[GaugeMetricFamily]:
        import sqlalchemy as sa
        from sqlmodel import col

        from cms_cli.core import clock
        from cms_cli.core.db import engine_of
        from cms_cli.notify.models import Notification, NotificationStatus

        rows = GaugeMetricFamily("cms_outbox_rows", "Outbox rows by status.", labels=["status"])
        oldest = GaugeMetricFamily(
            "cms_outbox_oldest_waiting_seconds",
            "Age of the oldest pending or queued notification (0 when none waits).",
        )
        waiting = (NotificationStatus.pending.value, NotificationStatus.queued.value)
        try:
            with engine_of(self.config).connect() as conn:
                counts = conn.execute(
                    sa.select(
                        col(Notification.status),
                        sa.func.count(),
                        sa.func.min(col(Notification.created_at)),
                    ).group_by(col(Notification.status))
                ).all()
        except Exception:
            return
        now = clock.now()
        first = None
        seen = {str(getattr(s, "value", s)): (n, at) for s, n, at in counts}
        for status in NotificationStatus:
            n, at = seen.get(status.value, (0, None))
            rows.add_metric([status.value], n)
            if status.value in waiting and at is not None:
                at = clock.aware(at)
                first = at if first is None else min(first, at)
        oldest.add_metric([], 0 if first is None else max((now - first).total_seconds(), 0))
        yield rows
        yield oldest


def serve(config: Config, port: int, host: str) -> Any:
    """Serve the worker's metrics on http://host:port/metrics; returns the listener to
    pass to events.listen (and the server, to shut down)."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry)
    registry.register(OutboxCollector(config))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return metrics, server
