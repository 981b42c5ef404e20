"""cms audit: the audit trail (managers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from cms_cli.api import listed
from cms_cli.audit.public import ENTITIES
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
        typer.Option("--entity", help=f"What was changed: {', '.join(ENTITIES)}."),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who did it: an e-mail, or 'system'.")
    ] = None,
    since: Annotated[datetime | None, day("--since", "From this day on.")] = None,
    id_: Annotated[
        str | None,
        typer.Option("--id", help="With --entity: one object's history (an id, an e-mail)."),
    ] = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List audit events, newest first.

    --entity with --id gives one object's history (an offering's id, a user's e-mail).

    Example: cms audit list --entity offering --id 9
    """
    from cms_cli.audit import api
    from cms_cli.audit.public import AuditEventPublic, with_change

    view = View.of(limit, wide, no_pager)
    query = api.AuditQuery(
        entity=entity, actor=actor, since=since.date() if since else None, id=id_
    )
    rows = listed(api.listing, query, limit=view.fetch(json_, csv_))
    listing(
        rows,
        columns(AuditEventPublic),
        json_=json_,
        csv_=csv_,
        view=view,
        title="Audit",
        noun="events",
        empty="no events match",
        drop=("entity_id", "entity"),
        table=(("at", "actor", "action", "entity", "entity_id", "change"), with_change),
    )
