"""What the notification pipeline reports as it runs: each delivery, each sweep, each
heartbeat. Listeners (the Prometheus metrics of notify.metrics) subscribe when a worker
serves metrics or a sweep writes a textfile; with none, a report costs a loop over an
empty list, and nothing here imports prometheus-client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Listener(Protocol):
    def delivered(self, kind: str, channels: Sequence[str], outcome: str, seconds: float) -> None:
        """One delivery attempt: outcome sent, retry or failed."""

    def swept(self, result: Any, seconds: float) -> None:
        """One sweep (a notify.sweep.SweepResult) and how long it took."""

    def heartbeat(self, at: float) -> None:
        """The worker said it is alive (a UNIX time)."""


_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    _listeners.append(listener)


def forget(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def delivered(kind: str, channels: Sequence[str], outcome: str, seconds: float) -> None:
    for listener in _listeners:
        listener.delivered(kind, channels, outcome, seconds)


def swept(result: Any, seconds: float) -> None:
    for listener in _listeners:
        listener.swept(result, seconds)


def heartbeat(at: float) -> None:
    for listener in _listeners:
        listener.heartbeat(at)
