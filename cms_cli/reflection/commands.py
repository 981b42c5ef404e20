"""cms reflection: students hand in the page's file; course teams read them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

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
)

app = typer.Typer(
    help="Students' end-of-course reflections.", no_args_is_help=True, rich_markup_mode=None
)


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(help="The JSON file the reflection page downloaded.")],
) -> None:
    """Hand in your reflection (students enrolled in its offering); a new one replaces the old.

    Example: cms reflection submit ~/Downloads/reflection-offering-9.json
    """
    from cms_cli.auth.remote import through
    from cms_cli.reflection.files import read_bytes
    from cms_cli.reflection.public import ReflectionPublic

    raw = read_bytes(file)

    def local(session: Any, me: Any) -> tuple[ReflectionPublic, bool]:
        from cms_cli.reflection import service

        return service.submit(session, me, raw, str(file))

    def far(api: Any) -> tuple[ReflectionPublic, bool]:
        answer = api.request(
            "POST",
            "/reflections",
            params={"name": str(file)},
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        return ReflectionPublic.model_validate(answer["reflection"]), bool(answer["replaced"])

    row, replaced = through(local, far)
    verb = "replaced your earlier one" if replaced else "stored"
    result(f"Reflection for offering {row.offering_id} {verb}.")


@app.command("list")
def list_(
    offering: Annotated[int, typer.Option("--offering", help="Offering id.")],
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """The reflections of an offering (its facilitator and managers).

    Example: cms reflection list --offering 9 --csv > reflections.csv
    """
    from cms_cli.auth.remote import through
    from cms_cli.reflection.public import ReflectionPublic

    def local(session: Any, me: Any) -> list[ReflectionPublic]:
        from cms_cli.reflection import service

        return service.list_reflections(session, me, offering)

    rows = through(
        local,
        lambda api: [
            ReflectionPublic.model_validate(r)
            for r in api.get("/reflections", offering_id=offering)
        ],
    )
    listing(
        rows,
        columns(ReflectionPublic),
        json_=json_,
        csv_=csv_,
        title=f"Reflections, offering {offering}",
        view=View.of(limit, wide, no_pager),
        noun="reflections",
        empty="no reflections yet",
        drop=("offering_id", "language", "submitted_at"),
    )
