"""cms reflection: students hand in the page's file; course teams read them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cms_cli.api import call, listed
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
from cms_cli.offerings.options import (
    AllOpt,
    ClassOpt,
    CohortOpt,
    FacilitatorOpt,
    IntakeOpt,
    ModeOpt,
    ModuleOpt,
    StatusOpt,
    TrimesterOpt,
    YearOpt,
    filters,
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
    from cms_cli.core.files import display_name
    from cms_cli.reflection import api
    from cms_cli.reflection.files import read_bytes

    # The file is read once signed in (exit 4 before any problem with the file).
    def read(data: api.ReflectionFile) -> api.ReflectionFile:
        return data.model_copy(update={"raw": read_bytes(file)})

    done = call(api.submit, api.ReflectionFile(name=display_name(file)), ask=read)
    verb = "replaced your earlier one" if done.replaced else "stored"
    result(f"Reflection for offering {done.reflection.offering_id} {verb}.")


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
    from cms_cli.reflection import api
    from cms_cli.reflection.public import ReflectionPublic

    view = View.of(limit, wide, no_pager)
    chosen = api.OfferingRef(offering_id=offering)
    rows = listed(api.listing, chosen, limit=view.fetch(json_, csv_))
    listing(
        rows,
        columns(ReflectionPublic),
        json_=json_,
        csv_=csv_,
        title=f"Reflections, offering {offering}",
        view=view,
        noun="reflections",
        empty="no reflections yet",
        drop=("offering_id", "language", "submitted_at"),
    )
    if not (json_ or csv_):
        result(rate_line(call(api.rate, chosen), listed=rows.total))


def rate_line(rate: Any, listed: int) -> str:
    """``12 of 19 enrolled students (63%)``: the end of `reflection list` (``listed``
    reflections above it, some maybe of students no longer enrolled)."""
    others = listed - rate.submitted
    more = f"; {others} more from students no longer enrolled" if others > 0 else ""
    if not rate.enrolled:
        return f"nobody is enrolled in offering {rate.offering_id} now{more}"
    from cms_cli.core.text import share

    shown = share(rate.submitted, rate.enrolled)
    return f"{rate.submitted} of {rate.enrolled} enrolled students ({shown}){more}"


@app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files the reflection page downloaded, or folders of them (*.json, searched "
            "in subfolders too).",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every file; store nothing.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Store the reflections a course team collected (a drop box, e-mail, a shared
    folder): each file names its student; the offering's facilitator or a manager.

    Every file is checked first (the page's format, the offering, the student enrolled in
    it); each problem is printed as `FILE: ...` and nothing is stored. Of two reflections
    of one student, the newer one stays.

    Example: cms reflection import docs/examples/reflections/ --dry-run
    """
    from cms_cli.core.output import write_json
    from cms_cli.reflection import api
    from cms_cli.reflection.files import collect
    from cms_cli.reflection.public import ReflectionUpload

    # The files are read once the permission is known (exit 4 or 5 before any problem
    # with a file).
    def read(data: api.Bundle) -> api.Bundle:
        upload = ReflectionUpload.of(collect(paths), dry_run=dry_run)
        return data.model_copy(update={"bundle": upload.model_dump_json().encode()})

    done = call(api.importing, api.Bundle(), ask=read)
    if json_:
        write_json(done)
        return
    kept = f"; {done.kept} file(s) left aside, not newer than the one kept" if done.kept else ""
    if done.dry_run:
        result(
            f"{done.checked} file(s) checked, all valid: {done.created} reflection(s) would be "
            f"stored, {done.replaced} replaced{kept} (dry run, nothing stored)."
        )
    else:
        result(f"Stored {done.created} reflection(s), replaced {done.replaced}{kept}.")


@app.command()
def summary(
    trimester: TrimesterOpt = None,
    cohort: CohortOpt = None,
    intake: IntakeOpt = None,
    facilitator: FacilitatorOpt = None,
    mode: ModeOpt = None,
    module: ModuleOpt = None,
    class_code: ClassOpt = None,
    year: YearOpt = None,
    status: StatusOpt = None,
    all_: AllOpt = False,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    no_pager: NoPagerOpt = False,
) -> None:
    """The response rate per offering: enrolled students, reflections handed in
    (facilitators theirs, managers all). Filters as in cms offering list.

    Example: cms reflection summary --trimester 1 --status completed
    """
    from cms_cli.reflection import api
    from cms_cli.reflection.public import ResponseRate

    chosen = filters(
        trimester, cohort, intake, facilitator, mode, module, class_code, year, status, all_
    )
    view = View.of(limit, False, no_pager)
    rows = listed(api.summary, api.SummaryQuery(filters=chosen), limit=view.fetch(json_, csv_))
    listing(
        rows,
        columns(ResponseRate),
        json_=json_,
        csv_=csv_,
        title="Reflections handed in",
        view=view,
        noun="offerings",
        empty="no offerings match",
        table=(columns(ResponseRate), _shown_rate),
    )


def _shown_rate(row: Any) -> Any:
    from cms_cli.core.text import share

    shown = dict(row)
    # from the counts, as the rate line of `reflection list` (the rate has one decimal)
    shown["rate"] = share(row.get("submitted", 0), row.get("enrolled", 0), none="nobody enrolled")
    return shown
