"""The notification and inbox operations, each declared once (core.operation): the
server's routes, the client's calls and the local calls are derived from these. The
sweep and the worker are operator commands: they hold the database, not an API."""

from __future__ import annotations

from cms_cli.core.base import Model
from cms_cli.core.operation import Operation
from cms_cli.core.results import Count, Queued
from cms_cli.notify.public import InboxItemPublic, NotificationPublic

SERVICE = "cms_cli.notify.service"


class NotificationQuery(Model):
    status: str | None = None
    recipient: str | None = None


class Retry(Model):
    ids: list[int] = []
    all_failed: bool = False


class InboxQuery(Model):
    include_read: bool = False


class InboxRef(Model):
    item_id: int


class MarkRead(Model):
    ids: list[int] = []
    everything: bool = False


listing = Operation(
    name="notify.list",
    summary="Notifications (managers: all; others: their own).",
    method="GET",
    path="/notifications",
    input=NotificationQuery,
    output=list[NotificationPublic],
    service=f"{SERVICE}:list_notifications",
    paged=True,
)
retry = Operation(
    name="notify.retry",
    summary="Hand failed notifications to the queue again (managers).",
    method="POST",
    path="/notifications/retry",
    input=Retry,
    output=Queued,
    service=f"{SERVICE}:retry",
    needs=("config",),
)
inbox = Operation(
    name="inbox.list",
    summary="Your in-app notifications, newest first.",
    method="GET",
    path="/inbox",
    input=InboxQuery,
    output=list[InboxItemPublic],
    service=f"{SERVICE}:inbox",
    paged=True,
)
show = Operation(
    name="inbox.show",
    summary="One of your inbox notifications, marked read.",
    method="POST",
    path="/inbox/{item_id}/read",
    input=InboxRef,
    output=InboxItemPublic,
    service=f"{SERVICE}:inbox_item",
)
read = Operation(
    name="inbox.read",
    summary="Mark inbox notifications read.",
    method="POST",
    path="/inbox/read",
    input=MarkRead,
    output=Count,
    service=f"{SERVICE}:mark_read",
)

OPERATIONS = (listing, retry, inbox, show, read)
