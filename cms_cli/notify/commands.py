"""cms notify / inbox / worker: reminders that are never lost and never sent twice."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cms_cli.api import call, listed
from cms_cli.core.context import current
from cms_cli.core.options import LogFormatOpt, day
from cms_cli.core.output import (
    DEFAULT_LIMIT,
    CsvOpt,
    JsonOpt,
    LimitOpt,
    NoPagerOpt,
    View,
    WideOpt,
    columns,
    listing,
    result,
    write_json,
)

app = typer.Typer(
    help="Reminders and escalations: sweep, list, retry, prune.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
inbox_app = typer.Typer(
    help="Your in-app notifications.", invoke_without_command=True, rich_markup_mode=None
)
worker_app = typer.Typer(rich_markup_mode=None, add_completion=False)


@app.command()
def sweep(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what is due; write nothing.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing when nothing was created.")
    ] = False,
    json_: JsonOpt = False,
    requeue_now: Annotated[
        bool,
        typer.Option(
            "--requeue-now",
            help="Hand every waiting row to the queue again now, not after 10 minutes.",
        ),
    ] = False,
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            metavar="PATH",
            help="Write the sweep's Prometheus metrics there (node_exporter textfile).",
        ),
    ] = None,
    log_format: LogFormatOpt = None,
) -> None:
    """Write reminders and escalations for every week past its deadline, and attendance
    notifications for students at risk (operator; cron).

    Idempotent and safe to run concurrently: one notification per recipient, kind,
    offering and week (for attendance: per student and reason). Exit 7 when the queue is
    down (the rows wait in the outbox; once it is back, --requeue-now hands them over at
    once).

    Example: */10 * * * * cms notify sweep --quiet
    """
    from cms_cli.api.remote import refuse_operator

    refuse_operator("notify sweep")

    from cms_cli.notify import sweep as sweeping

    if log_format is not None:
        from cms_cli.core import logs

        logs.setup(log_format, debug=current().debug)
    done = sweeping.run(current().config(), dry_run=dry_run, requeue_now=requeue_now)
    if metrics_file is not None and not dry_run:
        from cms_cli.notify.textfile import write_sweep

        try:
            write_sweep(metrics_file, done, done.seconds)
        except OSError as exc:
            from cms_cli.core.errors import CmsError

            raise CmsError(
                f"the sweep ran, but its metrics could not be written to {metrics_file}: "
                f"{exc.strerror}",
                hint="check the folder exists and is writable (node_exporter's textfile dir)",
            ) from exc
    if json_:
        write_json(done.as_json())
        return
    if quiet and not done.created:
        return
    verb = "would create" if dry_run else "created"
    text = (
        f"Sweep {verb} {done.reminders} reminder(s), {done.escalations} escalation(s) and "
        f"{done.attendance} attendance notification(s)"
    )
    text += (
        f"; {done.requeued} older one(s) {'waiting' if dry_run else 'handed to the queue again'}."
    )
    result(text)


@app.command()
def prune(
    before: Annotated[datetime, day("--before", "Delete what was created before this day.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Delete old outbox history: notifications sent or failed before DATE, of offerings
    closed by cms offering close, with their inbox items (operator).

    Rows still waiting are never touched, nor those of offerings the sweep may still
    visit (it would write them again). Audited. The outbox_retention_days setting has
    every sweep do this on its own. Asks on a terminal; needs --yes off one.

    Example: cms notify prune --before 2026-01-01 --dry-run
    """
    from cms_cli.api.remote import refuse_operator

    refuse_operator("notify prune")
    from cms_cli.core.prompts import confirm
    from cms_cli.core.session import in_transaction
    from cms_cli.notify import prune as pruning

    config = current().config()
    day_ = before.date()
    if day_ > current().now.astimezone(config.tz).date():
        from cms_cli.core.errors import ValidationError

        raise ValidationError(f"--before {day_} is in the future")
    if not dry_run:
        confirm(f"Delete the outbox history of closed offerings before {day_}?", yes=yes)
    count = in_transaction(
        config, lambda session: pruning.prune(session, config, day_, dry_run=dry_run)
    )
    if json_:
        write_json({"deleted": 0 if dry_run else count, "prunable": count, "dry_run": dry_run})
        return
    if dry_run:
        result(f"{count} notification(s) before {day_} would be deleted (dry run).")
    else:
        result(f"Deleted {count} notification(s) created before {day_}, with their inbox items.")


@app.command("list")
def list_(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, queued, sent or failed.")
    ] = None,
    recipient: Annotated[str | None, typer.Option("--recipient", help="Recipient e-mail.")] = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List notifications (managers: all; others: their own).

    Example: cms notify list --status failed
    """
    from cms_cli.notify import api
    from cms_cli.notify.public import NotificationPublic

    view = View.of(limit, wide, no_pager)
    query = api.NotificationQuery(status=status, recipient=recipient)
    rows = listed(api.listing, query, limit=view.fetch(json_, csv_))
    listing(
        rows,
        columns(NotificationPublic),
        json_=json_,
        csv_=csv_,
        view=view,
        title="Notifications",
        noun="notifications",
        empty="no notifications",
        table=(columns(NotificationPublic), _shown_notification),
        headers={"offering_id": "offering", "created_at": "created", "sent_at": "sent"},
        # kind stays: a reminder and an escalation are different things to act on
        drop=("sent_at", "attempts", "created_at", "week", "offering_id", "last_error"),
    )


def _shown_notification(row: Mapping[str, Any]) -> dict[str, Any]:
    """A notification's row for people: times with how long ago; no week for an
    attendance alert (it is about the offering, not one week)."""
    from cms_cli.core.relative import Ago

    shown = dict(row)
    if row.get("kind") == "attendance":
        shown["week"] = None
    shown["created_at"] = Ago(row["created_at"])
    shown["sent_at"] = Ago(row["sent_at"]) if row.get("sent_at") is not None else None
    return shown


@app.command()
def retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Notification ids.", metavar="ID...")
    ] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Every failed notification.")
    ] = False,
) -> None:
    """Hand failed notifications to the queue again (managers).

    Example: cms notify retry --all-failed
    """
    from cms_cli.notify import api

    # Through a server, the server hands them to its queue.
    done = call(api.retry, api.Retry(ids=ids or [], all_failed=all_failed))
    result(f"{len(done.ids)} notification(s) queued again.")


@inbox_app.callback()
def inbox(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Read ones too.")] = False,
    json_: JsonOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """Your in-app notifications, newest first (unread unless --all).

    Example: cms inbox --all --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from cms_cli.notify import api
    from cms_cli.notify.public import InboxItemPublic

    view = View.of(limit, wide, no_pager)
    rows = listed(api.inbox, api.InboxQuery(include_read=all_), limit=view.fetch(json_))
    listing(
        rows,
        columns(InboxItemPublic),
        json_=json_,
        view=view,
        title="Inbox",
        noun="notifications",
        empty="no notifications" if all_ else "no unread notifications",
        # "read" only when read ones are listed (--all is for telling them apart): a
        # short yes/no that stays; the subject is cut before "received" or "read" go
        table=(
            ("id", "created_at", "subject", "read_at") if all_ else ("id", "created_at", "subject"),
            _shown_item,
        ),
        headers={"created_at": "received", "read_at": "read"},
        keep=("read_at",),
    )


def _shown_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """An inbox item's row for people: when it came, with how long ago; whether it was
    read (yes/no: `inbox show` tells when)."""
    from cms_cli.core.relative import Ago

    shown = dict(row)
    shown["created_at"] = Ago(row["created_at"])
    shown["read_at"] = row.get("read_at") is not None
    return shown


@inbox_app.command()
def show(
    item_id: Annotated[int, typer.Argument(help="Inbox id.", metavar="ID")],
    json_: JsonOpt = False,
) -> None:
    """Show one of your inbox notifications in full, and mark it read.

    Example: cms inbox show 1
    """
    from cms_cli.core.output import item
    from cms_cli.notify import api

    item(call(api.show, api.InboxRef(item_id=item_id)), json_=json_)


@inbox_app.command()
def read(
    ids: Annotated[list[int] | None, typer.Argument(help="Inbox ids.", metavar="ID...")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Everything unread.")] = False,
) -> None:
    """Mark inbox notifications as read.

    Example: cms inbox read --all
    """
    from cms_cli.notify import api

    done = call(api.read, api.MarkRead(ids=ids or [], everything=all_))
    result(f"{done.count} notification(s) marked read.")


@worker_app.command()
def worker(
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Delivery threads.")] = 4,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not run the periodic sweep here.")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=1,
            max=65535,
            help="Serve Prometheus metrics on this port (http://HOST:PORT/metrics).",
        ),
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option(
            "--metrics-host", metavar="HOST", help="Address for --metrics-port (loopback)."
        ),
    ] = "127.0.0.1",
    log_format: LogFormatOpt = None,
) -> None:
    """Deliver notifications (e-mail and inbox) and run the sweep every sweep_minutes.

    Stops cleanly on SIGTERM or SIGINT after finishing the deliveries in hand. Run the
    scheduler in one worker only (or use cron and --no-scheduler everywhere).

    Example: cms worker --workers 4
    """
    from cms_cli.api.remote import refuse_operator

    refuse_operator("worker")
    from cms_cli.core.migrate import ensure_schema
    from cms_cli.notify import worker as running

    config = current().config()
    ensure_schema(config)
    running.run(
        config,
        workers=workers,
        scheduler=not no_scheduler,
        log_format=log_format or "plain",
        debug=current().debug,
        metrics=(metrics_host, metrics_port) if metrics_port is not None else None,
    )
