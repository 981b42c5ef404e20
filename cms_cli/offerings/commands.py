"""cms offering: course allocation and enrolments."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

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
    import_result,
    item,
    listing,
    result,
    write_json,
)
from cms_cli.core.prompts import confirm
from cms_cli.offerings.options import (
    AllOpt,
    ClassOpt,
    CohortOpt,
    FacilitatorOpt,
    IdArg,
    IntakeOpt,
    ModeOpt,
    ModuleOpt,
    StatusOpt,
    TrimesterOpt,
    YearOpt,
    filters,
)

if TYPE_CHECKING:
    from rich.console import Console


app = typer.Typer(
    help="Allocate courses: offerings and enrolments.", no_args_is_help=True, rich_markup_mode=None
)


TABLE_COLUMNS = (
    "id",
    "module",
    "class",
    "cohort",
    "mode",
    "facilitator",
    "start_date",
    "end_date",
    "weeks",
    "enrolled",
    "status",
)


def _service() -> ModuleType:
    """The offering services: imported only by a command that talks to a database."""
    from cms_cli.offerings import service

    return service


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


@app.command()
def create(
    module: Annotated[str, typer.Option("--module", help="Module code.")],
    class_code: Annotated[str, typer.Option("--class", help="Class code, e.g. 2026J.")],
    cohort: Annotated[str, typer.Option("--cohort", help="Cohort name.")],
    mode: Annotated[str, typer.Option("--mode", help="online, in-person or hybrid.")],
    start: Annotated[datetime, day("--start", "First day.")],
    end: Annotated[datetime, day("--end", "Last day.")],
    facilitator: FacilitatorOpt = None,
    max_students: Annotated[int | None, typer.Option("--max-students", help="Capacity.")] = None,
    manager: Annotated[
        str | None, typer.Option("--manager", help="Manager e-mail (default: you).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Create an offering: a module taught to a class and cohort in a mode (managers).

    Example: cms offering create --module CS305 --class 2027T --cohort "Evening 2027"
    --mode online --start 2027-01-11 --end 2027-04-02 --facilitator ana.lopez@uni.example
    """
    from cms_cli.auth.remote import through
    from cms_cli.offerings.public import OfferingCreate, OfferingPublic

    data = OfferingCreate.model_validate(
        {
            "module": module,
            "class_code": class_code,
            "cohort": cohort,
            "mode": mode,
            "start_date": start.date(),
            "end_date": end.date(),
            "facilitator": facilitator,
            "max_students": max_students,
            "manager": manager,
        }
    )
    shown = through(
        lambda session, me: _service().create(
            session, me, data, max_load=current().config().settings.max_load, today=current().today
        ),
        lambda api: OfferingPublic.model_validate(
            api.post("/offerings", data.model_dump(mode="json"))
        ),
    )
    if json_:
        write_json(shown)
    else:
        what = f"{shown.module} {shown.class_code} {shown.cohort} ({shown.mode.value})"
        result(f"Created offering {shown.id}: {what}.")


@app.command("list")
def list_(
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
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List offerings you may see (managers: all; facilitators: theirs; students: their enrolments).

    Cancelled offerings are hidden unless --all or --status cancelled.

    Example: cms offering list --trimester 1 --intake FT --mode online --csv
    """
    from cms_cli.auth.remote import through
    from cms_cli.offerings.public import OfferingPublic

    chosen = filters(
        trimester, cohort, intake, facilitator, mode, module, class_code, year, status, all_
    )
    rows = through(
        lambda session, me: _service().list_offerings(session, me, chosen, today=current().today),
        lambda api: [
            OfferingPublic.model_validate(r) for r in api.get("/offerings", **chosen.query())
        ],
    )
    listing(
        rows,
        columns(OfferingPublic),
        json_=json_,
        csv_=csv_,
        view=View.of(limit, wide, no_pager),
        title="Offerings",
        noun="offerings",
        empty="no offerings match",
        table=(TABLE_COLUMNS, _shown_offering),
        drop=("weeks", "class", "enrolled", "end_date", "mode", "cohort", "status"),
    )


def _shown_offering(row: Any) -> dict[str, Any]:
    """An offering's row for people: no facilitator is a dash, not a blank cell."""
    shown = dict(row)
    shown["facilitator"] = row.get("facilitator") or "—"
    return shown


@app.command()
def show(offering_id: IdArg, json_: JsonOpt = False) -> None:
    """Show one offering.

    Example: cms offering show 9 --json
    """
    from cms_cli.auth.remote import through
    from cms_cli.offerings.public import OfferingPublic

    shown = through(
        lambda session, me: _service().show(session, me, offering_id, today=current().today),
        lambda api: OfferingPublic.model_validate(api.get(f"/offerings/{offering_id}")),
    )
    item(shown, json_=json_, title=f"Offering {offering_id}")


@app.command()
def update(
    offering_id: IdArg,
    facilitator: FacilitatorOpt = None,
    no_facilitator: Annotated[
        bool, typer.Option("--no-facilitator", help="Leave it without a facilitator.")
    ] = False,
    max_students: Annotated[int | None, typer.Option("--max-students", help="Capacity.")] = None,
    start: Annotated[datetime | None, day("--start", "New first day.")] = None,
    end: Annotated[datetime | None, day("--end", "New last day.")] = None,
    mode: ModeOpt = None,
    manager: Annotated[str | None, typer.Option("--manager", help="Manager e-mail.")] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="cancelled to cancel; another status reinstates it."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Change an offering; only the options given change (managers).

    Example: cms offering update 9 --facilitator ben.okafor@uni.example --max-students 40
    """
    from cms_cli.auth.remote import through
    from cms_cli.offerings.public import OfferingPublic, OfferingUpdate

    changes = OfferingUpdate.model_validate(
        {
            "facilitator": facilitator,
            "no_facilitator": no_facilitator,
            "max_students": max_students,
            "start_date": _day(start),
            "end_date": _day(end),
            "mode": mode,
            "manager": manager,
            "status": status,
        }
    )
    shown = through(
        lambda session, me: _service().update(
            session,
            me,
            offering_id,
            changes,
            max_load=current().config().settings.max_load,
            today=current().today,
        ),
        lambda api: OfferingPublic.model_validate(
            api.request("PATCH", f"/offerings/{offering_id}", json=changes.model_dump(mode="json"))
        ),
    )
    if json_:
        write_json(shown)
    else:
        result(f"Updated offering {offering_id}.")


@app.command()
def cancel(
    offering_id: IdArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Cancel an offering: kept for the record, hidden from lists, never swept.

    Example: cms offering cancel 9 --yes
    """
    from cms_cli.auth.remote import remote

    api = remote()
    if api is not None:
        api.post(f"/offerings/{offering_id}/cancel", {"check": True})  # 5 or 3 before asking
        confirm(f"Cancel offering {offering_id}?", yes=yes)
        changed = bool(api.post(f"/offerings/{offering_id}/cancel", {})["changed"])
    else:
        from cms_cli.auth.current import signed_in

        service = _service()
        with signed_in() as (session, me):
            service.managed(session, me, offering_id)  # exit 5 or 3 before asking
            confirm(f"Cancel offering {offering_id}?", yes=yes)
            _, changed = service.cancel(session, me, offering_id, today=current().today)
    result(
        f"Cancelled offering {offering_id}."
        if changed
        else f"Offering {offering_id} was already cancelled."
    )


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: module,class,cohort,mode,facilitator,start_date,end_date,max_students."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row; write nothing.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Create many offerings from a CSV file: all rows or none (managers).

    Every row is checked first (codes, dates, modes, duplicates in the file and in the
    database, facilitator load across the file); each problem is printed as
    `line N: ...` and nothing is written. See docs/examples/term1.csv.

    Example: cms offering import docs/examples/term1.csv --dry-run
    """
    import sys

    from cms_cli.auth.remote import remote, upload_import
    from cms_cli.offerings.public import IMPORT_OPTIONAL, IMPORT_REQUIRED

    api = remote()
    if api is not None:
        columns = (IMPORT_REQUIRED, IMPORT_OPTIONAL)
        report = upload_import(api, "offerings", file, columns, dry_run=dry_run)
        import_result(report, "offering", json_=json_)
        return
    from cms_cli.auth.current import signed_in
    from cms_cli.auth.models import Role, require
    from cms_cli.core.csvfile import CsvFile
    from cms_cli.offerings.importer import import_offerings

    max_load = current().config().settings.max_load
    with signed_in() as (session, me):
        require(me, Role.manager)
        with CsvFile(file, IMPORT_REQUIRED, IMPORT_OPTIONAL) as rows:
            if sys.stderr.isatty():
                from rich.progress import Progress

                with Progress(console=_stderr(), transient=True) as bar:
                    task = bar.add_task("checking rows", total=1.0)
                    report = import_offerings(
                        session,
                        me,
                        rows,
                        max_load=max_load,
                        dry_run=dry_run,
                        progress=lambda: bar.update(task, completed=rows.read),
                    )
            else:
                report = import_offerings(session, me, rows, max_load=max_load, dry_run=dry_run)
    import_result(report, "offering", json_=json_)


def _stderr() -> Console:
    from cms_cli.core.output import stderr_console

    return stderr_console()


@app.command()
def copy(
    from_class: Annotated[str, typer.Option("--from-class", help="The class to copy.")],
    to_class: Annotated[str, typer.Option("--to-class", help="The class to copy into.")],
    cohort: Annotated[
        str | None,
        typer.Option("--cohort", help="Cohort of every copy (default: each one's own)."),
    ] = None,
    start: Annotated[
        datetime | None,
        day("--start", "First day of the earliest copy (default: a year on, same weekday)."),
    ] = None,
    keep_facilitators: Annotated[
        bool,
        typer.Option("--keep-facilitators", help="Keep each facilitator (within max_load)."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every copy; write nothing.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Copy a class's offerings into another class: the next term in one command
    (managers).

    Offerings not cancelled are copied with their module, cohort, mode, capacity and
    manager; the dates move so that the earliest starts on --start (default: the same
    weekday, as many years later as the classes are apart, when both are the same
    trimester). Facilitators are kept only with --keep-facilitators, and only within
    max_load. All or nothing: each problem is printed as `offering N: ...`.

    Example: cms offering copy --from-class 2027T --to-class 2028T --keep-facilitators
    --dry-run
    """
    from cms_cli.auth.remote import through
    from cms_cli.offerings.public import Copied, CopyRequest

    request = CopyRequest(
        from_class=from_class,
        to_class=to_class,
        cohort=cohort,
        start=_day(start),
        keep_facilitators=keep_facilitators,
    )

    def local(session: Any, me: Any) -> Copied:
        from cms_cli.offerings.rollover import copy_class

        return copy_class(
            session,
            me,
            request,
            max_load=current().config().settings.max_load,
            today=current().today,
            dry_run=dry_run,
        )

    done = through(
        local,
        lambda api: Copied.model_validate(
            api.post(
                "/offerings/copy",
                {"request": request.model_dump(mode="json"), "dry_run": dry_run},
            )
        ),
    )
    count = len(done.copies)
    if json_:
        write_json(
            {
                "created": 0 if dry_run else count,
                "checked": count,
                "dry_run": dry_run,
                "first_start": done.first_start,
                "shift_days": done.shift_days,
                "copies": [{"from": a, "to": b} for a, b in done.copies],
            }
        )
    elif dry_run:
        result(
            f"{count} offering(s) checked, all valid: {count} would be created in "
            f"{to_class.strip().upper()}, the first starting {done.first_start} "
            "(dry run, nothing written)."
        )
    else:
        result(
            f"Copied {count} offering(s) into {to_class.strip().upper()}, the first "
            f"starting {done.first_start} ({done.shift_days:+d} days)."
        )


@app.command()
def enrol(
    offering_id: IdArg,
    student: Annotated[
        list[str] | None, typer.Option("--student", help="Student e-mail; repeat for several.")
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", help="CSV with an email column.")] = None,
) -> None:
    """Enrol students: all of them or none (capacity, unknown e-mails) (managers).

    Students already enrolled are left as they are.

    Example: cms offering enrol 9 --student amara.keller@students.uni.example
    --student amara.novak@students.uni.example
    """
    from cms_cli.auth.remote import remote
    from cms_cli.core.errors import UsageError
    from cms_cli.offerings.public import EnrolReport

    if bool(student) == bool(file):
        raise UsageError("give --student EMAIL (one or more) or --file FILE.csv, not both")

    def emails() -> list[str]:
        if file is None:
            return list(student or [])
        from cms_cli.core.csvfile import read_rows

        return [r["email"] for _, r in read_rows(file, ("email",), ("name", "student_id"))]

    api = remote()
    if api is not None:
        path = f"/offerings/{offering_id}/enrol"
        api.post(path, {"emails": [], "check": True})  # exit 5 or 3 before reading a file
        report = EnrolReport.model_validate(api.post(path, {"emails": emails()}))
    else:
        from cms_cli.auth.current import signed_in

        service = _service()
        with signed_in() as (session, me):
            service.managed(session, me, offering_id)  # exit 5 or 3 before reading a file
            report = service.enrol(session, me, offering_id, emails())
    places = (
        f"{report.enrolled}/{report.max_students}" if report.max_students else f"{report.enrolled}"
    )
    text = f"Enrolled {len(report.added)} student(s) in offering {offering_id} ({places})."
    if report.already:
        text += f" {len(report.already)} already enrolled."
    result(text)
    from cms_cli.core.output import warning

    today = current().today
    if report.added and report.end_date is not None and report.end_date < today:
        warning(f"offering {offering_id} ended on {report.end_date}: check it is the one you meant")


@app.command()
def unenrol(
    offering_id: IdArg,
    student: Annotated[str, typer.Option("--student", help="Student e-mail.")],
) -> None:
    """Remove a student from an offering (managers).

    Example: cms offering unenrol 9 --student amara.keller@students.uni.example
    """
    from cms_cli.auth.remote import through

    email = through(
        lambda session, me: _service().unenrol(session, me, offering_id, student).email,
        lambda api: api.post(f"/offerings/{offering_id}/unenrol", {"student": student})["email"],
    )
    result(f"Unenrolled {email} from offering {offering_id}.")


@app.command()
def students(
    offering_id: IdArg,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List the students of an offering (managers and its facilitator).

    Example: cms offering students 9 --csv
    """
    from cms_cli.auth.remote import through
    from cms_cli.offerings.public import StudentPublic

    rows = through(
        lambda session, me: _service().students(session, me, offering_id),
        lambda api: [
            StudentPublic.model_validate(r) for r in api.get(f"/offerings/{offering_id}/students")
        ],
    )
    listing(
        rows,
        columns(StudentPublic),
        json_=json_,
        csv_=csv_,
        view=View.of(limit, wide, no_pager),
        title=f"Students, offering {offering_id}",
        noun="students",
        empty="nobody is enrolled",
        drop=("enrolled_at", "student_id"),
    )
