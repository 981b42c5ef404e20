"""Small results several operations share (what they say back, typed): plain pydantic,
read by a client of `cms serve` as by a local command."""

from __future__ import annotations

from cms_cli.core.base import Model


class Account(Model):
    """The account an operation acted on."""

    email: str


class Standing(Model):
    """What an activation, deactivation or cancellation did: its subject as shown, and
    whether anything changed (it may have been so already)."""

    name: str
    changed: bool


class Count(Model):
    """How many things an operation acted on."""

    count: int


class Queued(Model):
    """The notifications handed to the queue again."""

    ids: list[int]
