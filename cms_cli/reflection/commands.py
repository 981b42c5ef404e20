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
    from cms_cli.auth.remote import through
    from cms_cli.core.files import display_name
    from cms_cli.reflection.files import read_bytes
    from cms_cli.reflection.public import ReflectionPublic

    name = display_name(file)

    # The file is read once signed in (exit 4 before any problem with the file).
    def local(session: Any, me: Any) -> tuple[ReflectionPublic, bool]:
        from cms_cli.reflection import service

        return service.submit(session, me, read_bytes(file), name)

    def far(api: Any) -> tuple[ReflectionPublic, bool]:
        answer = api.request(
            "POST",
            "/reflections",
            params={"name": name},
            content=read_bytes(file),
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
    from cms_cli.core.context import current
    from cms_cli.reflection.public import ReflectionPublic, ResponseRate

    def local(session: Any, me: Any) -> tuple[list[ReflectionPublic], ResponseRate]:
        from cms_cli.reflection import service

        rows = service.list_reflections(session, me, offering)
        return rows, service.response_rate(session, me, offering, today=current().today)

    def far(api: Any) -> tuple[list[ReflectionPublic], ResponseRate]:
        answer = api.get("/reflections", offering_id=offering)
        rate = api.get("/reflections/summary", offering_id=offering)
        return [ReflectionPublic.model_validate(r) for r in answer], ResponseRate.model_validate(
            rate[0]
        )

    rows, rate = through(local, far)
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
    if not (json_ or csv_):
        result(rate_line(rate, listed=len(rows)))


def rate_line(rate: Any, listed: int) -> str:
    """``12 of 19 enrolled students (63 %)``: the end of `reflection list` (``listed``
    reflections above it, some maybe of students no longer enrolled)."""
    others = listed - rate.submitted
    more = f"; {others} more from students no longer enrolled" if others > 0 else ""
    if not rate.enrolled:
        return f"nobody is enrolled in offering {rate.offering_id} now{more}"
    percent = int(100 * rate.submitted / rate.enrolled + 0.5)  # half up: 62.5 -> 63
    return f"{rate.submitted} of {rate.enrolled} enrolled students ({percent} %){more}"


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
    from cms_cli.auth.remote import through
    from cms_cli.core.output import write_json
    from cms_cli.reflection.files import collect
    from cms_cli.reflection.public import ImportedReflections, ReflectionUpload

    # The files are read once signed in (exit 4 before any problem with a file).
    def local(session: Any, me: Any) -> ImportedReflections:
        from cms_cli.reflection import service

        return service.import_files(session, me, collect(paths), dry_run=dry_run)

    def far(api: Any) -> ImportedReflections:
        upload = ReflectionUpload.of(collect(paths), dry_run=dry_run)
        answer = api.post("/reflections/import", upload.model_dump())
        return ImportedReflections.model_validate(answer)

    done = through(local, far)
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
    from cms_cli.auth.remote import through
    from cms_cli.core.context import current
    from cms_cli.reflection.public import ResponseRate

    chosen = filters(
        trimester, cohort, intake, facilitator, mode, module, class_code, year, status, all_
    )

    def local(session: Any, me: Any) -> list[ResponseRate]:
        from cms_cli.reflection import service

        return service.response_rates(session, me, chosen, today=current().today)

    rows = through(
        local,
        lambda api: [
            ResponseRate.model_validate(r)
            for r in api.get("/reflections/summary", **chosen.query())
        ],
    )
    listing(
        rows,
        columns(ResponseRate),
        json_=json_,
        csv_=csv_,
        title="Reflections handed in",
        view=View.of(limit, False, no_pager),
        noun="offerings",
        empty="no offerings match",
        table=(columns(ResponseRate), _shown_rate),
    )


def _shown_rate(row: Any) -> Any:
    shown = dict(row)
    rate = row.get("rate")
    shown["rate"] = "nobody enrolled" if rate is None else f"{rate:g}%"
    return shown
