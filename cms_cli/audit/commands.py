"""cms audit: the audit trail (managers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from cms_cli.core.context import current
from cms_cli.core.options import day
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
)

app = typer.Typer(
    help="Read the audit trail (managers).", no_args_is_help=True, rich_markup_mode=None
)


@app.command("list")
def list_(
    entity: Annotated[
        str | None,
        typer.Option("--entity", help="user, session, module, cohort, class, offering, ..."),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who did it: an e-mail, or 'system'.")
    ] = None,
    since: Annotated[datetime | None, day("--since", "From this day on.")] = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List audit events, oldest first.

    Example: cms audit list --entity user --since 2026-09-01 --json
    """
    from cms_cli.audit.public import AuditEventPublic, with_change
    from cms_cli.auth.remote import through

    config = current().config()
    day = since.date() if since else None

    def local(session: Any, me: Any) -> list[AuditEventPublic]:
        from cms_cli.audit import service

        return service.list_events(
            session, me, entity=entity, actor_email=actor, since=day, tz=config.tz
        )

    rows = through(
        local,
        lambda api: [
            AuditEventPublic.model_validate(r)
            for r in api.get(
                "/audit", entity=entity, actor=actor, since=day.isoformat() if day else None
            )
        ],
    )
    listing(
        rows,
        columns(AuditEventPublic),
        json_=json_,
        csv_=csv_,
        view=View.of(limit, wide, no_pager),
        title="Audit",
        noun="events",
        empty="no events match",
        drop=("entity_id", "entity"),
        table=(("at", "actor", "action", "entity", "entity_id", "change"), with_change),
    )
