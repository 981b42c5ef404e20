"""cms offering: course allocation and enrolments."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cms_cli.api import call, listed
from cms_cli.core.context import current
from cms_cli.core.csvfile import header_first, upload
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
from cms_cli.core.prompts import confirming
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
    from cms_cli.offerings import api
    from cms_cli.offerings.public import OfferingCreate

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
    shown = call(api.create, api.NewOffering(data=data))
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
    from cms_cli.offerings import api
    from cms_cli.offerings.public import OfferingPublic

    chosen = filters(
        trimester, cohort, intake, facilitator, mode, module, class_code, year, status, all_
    )
    view = View.of(limit, wide, no_pager)
    rows = listed(api.listing, api.OfferingQuery(filters=chosen), limit=view.fetch(json_, csv_))
    listing(
        rows,
        columns(OfferingPublic),
        json_=json_,
        csv_=csv_,
        view=view,
        title="Offerings",
        noun="offerings",
        empty="no offerings match",
        table=(TABLE_COLUMNS, _shown_offering),
        # class and mode tell two offerings of a module apart: they stay; a long address
        # is cut rather than the row losing what tells it apart
        drop=("weeks", "enrolled", "end_date", "cohort"),
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
    from cms_cli.offerings import api

    shown = call(api.show, api.OfferingRef(offering_id=offering_id))
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
    from cms_cli.offerings import api
    from cms_cli.offerings.public import OfferingUpdate

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
    shown = call(api.update, api.OfferingEdit(offering_id=offering_id, changes=changes))
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
    from cms_cli.offerings import api

    done = call(
        api.cancel,
        api.OfferingRef(offering_id=offering_id),
        ask=confirming(f"Cancel offering {offering_id}?", yes=yes),
    )
    result(
        f"Cancelled offering {offering_id}."
        if done.changed
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
    from cms_cli.offerings import api
    from cms_cli.offerings.public import IMPORT_COLUMNS

    data = upload(file, dry_run)
    report = call(api.importing, data, ask=header_first(IMPORT_COLUMNS))
    import_result(report, "offering", json_=json_)


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
    from cms_cli.offerings import api
    from cms_cli.offerings.public import CopyRequest

    request = CopyRequest(
        from_class=from_class,
        to_class=to_class,
        cohort=cohort,
        start=_day(start),
        keep_facilitators=keep_facilitators,
    )
    done = call(api.copy, api.CopyCall(request=request, dry_run=dry_run))
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
def close(
    class_code: Annotated[
        str | None, typer.Option("--class", help="Close every offering of this class.")
    ] = None,
    ended_before: Annotated[
        datetime | None, day("--ended-before", "Close every offering that ended before DATE.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be closed; change nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """End a term: its offerings are completed and the sweep leaves them alone
    (managers).

    A closed offering gets no more reminders, escalations or attendance alerts, shows
    as completed, and still takes late logs. Cancelled offerings are left as they are.
    Without closing, the sweep stops remind_days_after_end (14) days after an
    offering's last day. Audited; asks on a terminal, needs --yes off one.

    Example: cms offering close --class 2026J --dry-run
    """
    from cms_cli.offerings import api
    from cms_cli.offerings.public import CloseRequest

    if (class_code is None) == (ended_before is None):
        from cms_cli.core.errors import UsageError

        raise UsageError("give --class CODE or --ended-before DATE (one of them)")
    request = CloseRequest(class_code=class_code, ended_before=_day(ended_before))
    scope = (
        f"the offerings of class {class_code.strip().upper()}"
        if class_code is not None
        else f"the offerings that ended before {_day(ended_before)}"
    )
    ask = None if dry_run else confirming(f"Close {scope}? Their reminders stop.", yes=yes)
    done = call(api.close, api.CloseCall(request=request, dry_run=dry_run), ask=ask)
    ids = ", ".join(str(i) for i in done.closed[:20]) + (" ..." if len(done.closed) > 20 else "")
    already = f"; {done.already} closed already" if done.already else ""
    if not done.closed:
        result(f"Nothing to close: {scope} are closed already.")
    elif dry_run:
        result(f"{len(done.closed)} offering(s) would be closed: {ids}{already} (dry run).")
    else:
        result(f"Closed {len(done.closed)} offering(s): {ids}{already}.")


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
    from cms_cli.core.errors import UsageError
    from cms_cli.offerings import api

    if bool(student) == bool(file):
        raise UsageError("give --student EMAIL (one or more) or --file FILE.csv, not both")

    def emails(data: Any) -> Any:
        """The students, read from the file once the permission is known (exit 5 or 3
        before any problem with the file)."""
        if file is None:
            return data.model_copy(update={"emails": list(student or [])})
        from cms_cli.core.csvfile import read_rows

        found = [r["email"] for _, r in read_rows(file, ("email",), ("name", "student_id"))]
        return data.model_copy(update={"emails": found})

    report = call(api.enrol, api.Enrolment(offering_id=offering_id), ask=emails)
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
    from cms_cli.offerings import api

    done = call(api.unenrol, api.Unenrolment(offering_id=offering_id, student=student))
    result(f"Unenrolled {done.email} from offering {offering_id}.")


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
    from cms_cli.offerings import api
    from cms_cli.offerings.public import StudentPublic

    view = View.of(limit, wide, no_pager)
    data = api.OfferingRef(offering_id=offering_id)
    rows = listed(api.students, data, limit=view.fetch(json_, csv_))
    listing(
        rows,
        columns(StudentPublic),
        json_=json_,
        csv_=csv_,
        view=view,
        title=f"Students, offering {offering_id}",
        noun="students",
        empty="nobody is enrolled",
        drop=("enrolled_at", "student_id"),
    )
