"""The options that name offerings, in one place: the filters of `offering list`,
`tracker report` and `tracker list`, and an offering id with its shell completion."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cms_cli.auth.complete import emails
from cms_cli.offerings.complete import offering_ids

if TYPE_CHECKING:
    from cms_cli.offerings.public import Filters

IdArg = Annotated[
    int, typer.Argument(help="Offering id.", metavar="ID", autocompletion=offering_ids)
]
OfferingOpt = Annotated[
    int | None,
    typer.Option("--offering", help="Offering id.", autocompletion=offering_ids),
]

TrimesterOpt = Annotated[int | None, typer.Option("--trimester", help="1, 2 or 3.")]
CohortOpt = Annotated[str | None, typer.Option("--cohort", help="Cohort name.")]
IntakeOpt = Annotated[str | None, typer.Option("--intake", help="HT1, HT2 or FT.")]
FacilitatorOpt = Annotated[
    str | None,
    typer.Option("--facilitator", help="Facilitator e-mail.", autocompletion=emails("facilitator")),
]
ModeOpt = Annotated[str | None, typer.Option("--mode", help="online, in-person or hybrid.")]
ModuleOpt = Annotated[str | None, typer.Option("--module", help="Module code.")]
ClassOpt = Annotated[str | None, typer.Option("--class", help="Class code.")]
YearOpt = Annotated[int | None, typer.Option("--year", help="Year of the class, YYYY.")]
StatusOpt = Annotated[
    str | None, typer.Option("--status", help="planned, active, completed or cancelled.")
]
AllOpt = Annotated[bool, typer.Option("--all", help="Include cancelled offerings.")]


def filters(
    trimester: int | None = None,
    cohort: str | None = None,
    intake: str | None = None,
    facilitator: str | None = None,
    mode: str | None = None,
    module: str | None = None,
    class_code: str | None = None,
    year: int | None = None,
    status: str | None = None,
    include_cancelled: bool = False,
) -> Filters:
    from cms_cli.offerings.public import Filters

    return Filters(
        trimester=trimester,
        cohort=cohort,
        intake=intake,
        facilitator=facilitator,
        mode=mode,
        module=module,
        class_code=class_code,
        year=year,
        status=status,
        include_cancelled=include_cancelled,
    )
