"""cms tracker: facilitators' weekly activity logs and the compliance report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cms_cli.api import call, listed
from cms_cli.core.context import current
from cms_cli.core.output import (
    DEFAULT_LIMIT,
    CsvOpt,
    JsonOpt,
    LimitOpt,
    NoPagerOpt,
    View,
    WideOpt,
    columns,
    item,
    listing,
    message,
    result,
    write_json,
)
from cms_cli.core.prompts import confirming, interactive
from cms_cli.core.text import percent
from cms_cli.offerings.options import (
    AllOpt,
    ClassOpt,
    CohortOpt,
    FacilitatorOpt,
    IntakeOpt,
    ModeOpt,
    ModuleOpt,
    OfferingOpt,
    StatusOpt,
    TrimesterOpt,
    YearOpt,
    filters,
)
from cms_cli.tracker import views

if TYPE_CHECKING:
    from cms_cli.tracker.calendar import Deadlines
    from cms_cli.tracker.public import LogChanges

app = typer.Typer(
    help="Weekly activity logs and the compliance report.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

WeekOpt = Annotated[int | None, typer.Option("--week", help="Week number, 1..weeks.")]
S = Annotated[str | None, typer.Option(help="done, pending or not-started.", metavar="S")]


def _deadlines() -> Deadlines:
    from cms_cli.tracker.calendar import Deadlines

    return Deadlines.of(current().config())


@app.command()
def log(
    offering: OfferingOpt = None,
    week: WeekOpt = None,
    all_present: Annotated[
        bool, typer.Option("--all-present", help="Every enrolled student was present.")
    ] = False,
    present: Annotated[
        list[str] | None, typer.Option("--present", help="Present (the others absent); repeat.")
    ] = None,
    absent: Annotated[
        list[str] | None, typer.Option("--absent", help="Absent (the others present); repeat.")
    ] = None,
    formative_one: Annotated[
        str | None, typer.Option("--formative-one", metavar="S", help="Formative one grading.")
    ] = None,
    formative_two: Annotated[
        str | None, typer.Option("--formative-two", metavar="S", help="Formative two grading.")
    ] = None,
    summative: Annotated[
        str | None, typer.Option("--summative", metavar="S", help="Summative grading.")
    ] = None,
    moderation: Annotated[
        str | None, typer.Option("--moderation", metavar="S", help="Course moderation.")
    ] = None,
    intranet_sync: Annotated[
        str | None, typer.Option("--intranet-sync", metavar="S", help="Intranet sync.")
    ] = None,
    grade_book: Annotated[
        str | None, typer.Option("--grade-book", metavar="S", help="Grade-book status.")
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Free text ('' clears).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Log a week: creates the week's log or updates only the fields given.

    S is done, pending or not-started. The offering defaults to your only active one,
    the week to its current week. On a terminal with no field option, a form asks.

    Example: cms tracker log --offering 9 --week 5 --all-present --formative-one done
    --grade-book pending
    """
    from cms_cli.tracker import api
    from cms_cli.tracker.public import LogChanges

    given = {
        "formative_one_grading": formative_one,
        "formative_two_grading": formative_two,
        "summative_grading": summative,
        "course_moderation": moderation,
        "intranet_sync": intranet_sync,
        "grade_book_status": grade_book,
    }
    changes = LogChanges(
        statuses={k: v for k, v in given.items() if v is not None},
        notes=notes,
        all_present=all_present,
        present=list(present or ()),
        absent=list(absent or ()),
    )
    changes.check()
    nothing = not changes.statuses and notes is None and not changes.attendance_given()
    if interactive():
        offering, week, form_changes = _form(offering, week, ask_fields=nothing)
        changes = form_changes or changes
    shown = call(api.log, api.LogWrite(offering_id=offering, week=week, changes=changes))
    if json_:
        write_json(shown)
    else:
        result(
            f"Week {shown.week} of offering {shown.offering_id} ({shown.module}) saved: "
            f"{percent(shown.completion)} complete."
        )


def _form(
    offering: int | None, week: int | None, *, ask_fields: bool
) -> tuple[int | None, int | None, LogChanges | None]:
    """On a terminal: choose among several active offerings; with no field option,
    the week and every field too (tracker.form). Returns (offering, week, changes).
    Each step is one short call (a transaction, or a request to the server): nothing
    stays open while a person thinks."""
    from cms_cli.core.output import stderr_console
    from cms_cli.tracker import api, form

    console = stderr_console()  # prompts are messages: stdout stays for data (--json)
    if offering is None:
        active = call(api.choices, api.Nothing())
        if len(active) > 1:
            offering = form.pick_offering(console, active)
    if not ask_fields:
        return offering, week, None
    if week is None:
        chosen = call(api.week_choice, api.OfferingChoice(offering_id=offering))
        offering = chosen.offering_id
        week = form.pick_week(console, chosen.weeks, chosen.this_week)
    draft = call(api.draft, api.WeekOf(offering_id=offering, week=week))
    return draft.offering_id, draft.week, form.fill(console, draft)


@app.command()
def show(
    week: Annotated[int, typer.Option("--week", help="Week number.")],
    offering: OfferingOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show one week's log (exit 3 when the week has none).

    Example: cms tracker show --offering 9 --week 5 --json
    """
    from cms_cli.tracker import api

    shown = call(api.show, api.WeekRef(offering_id=offering, week=week))
    item(shown, json_=json_, title=f"Offering {shown.offering_id}, week {shown.week}")


@app.command("list")
def list_(
    offering: OfferingOpt = None,
    week: WeekOpt = None,
    facilitator: FacilitatorOpt = None,
    module: ModuleOpt = None,
    status: Annotated[
        str | None, typer.Option("--status", help="complete, incomplete, missing or overdue.")
    ] = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List weekly logs; --status missing/overdue adds the due weeks that have no log.

    Example: cms tracker list --status overdue --csv
    """
    from cms_cli.tracker import api
    from cms_cli.tracker.public import ListFilters, LogPublic

    chosen = ListFilters(
        offering_id=offering, week=week, facilitator=facilitator, module=module, status=status
    )
    view = View.of(limit, wide, no_pager)
    rows = listed(api.listing, api.LogQuery(filters=chosen), limit=view.fetch(json_, csv_))
    listing(
        rows,
        columns(LogPublic),
        json_=json_,
        csv_=csv_,
        view=view,
        title="Weekly logs",
        noun="weeks",
        empty="no logs match",
        # the deadline stays: a long address is cut before it goes
        drop=("updated_at", "module"),
        keep=("completion",),
        table=(
            ("offering_id", "week", "module", "facilitator", "completion", "due_at", "updated_at"),
            views.shown_log,
        ),
        headers={"offering_id": "offering", "due_at": "due", "updated_at": "updated"},
    )


@app.command()
def report(
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
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the matrix as a web page.")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="facilitator|module|week",
            help="Totals per facilitator, module or week instead of the matrix.",
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option("--sort", metavar="rank|id", help="Rows worst first (rank) or by id."),
    ] = "rank",
    open_: Annotated[
        bool, typer.Option("--open", help="Write the page to a temporary file and open it.")
    ] = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """The compliance matrix: offerings x weeks, with totals over the weeks due (managers).

    For people (the terminal, --html, --open): the headline first (the share of due
    weeks complete, overdue, missing, offerings with nothing logged), the running
    offerings only unless --all or --status (it says how many it hides), rows worst
    first (--sort id: by id), this week marked, and the trend of the share complete,
    week by week. Cells: complete, incomplete (not yet due), overdue (due, not
    complete), missing (due, no log), upcoming. --by ranks facilitators, modules or
    weeks by their rate, with a total. --json and --csv keep id order and every
    offering the filters match.

    Example: cms tracker report --trimester 1 --html compliance.html
    """
    from cms_cli.core.errors import UsageError
    from cms_cli.core.output import choose, message, write_csv
    from cms_cli.tracker import api, headline, render
    from cms_cli.tracker.public import VIEW_FIELDS

    fmt = choose(json_, csv_)
    sort = sort.strip().lower()
    if sort not in ("rank", "id"):
        raise UsageError(f"--sort must be rank or id (got {sort!r})")
    if by is not None:
        by = by.strip().lower()
        if by not in render.GROUPINGS:
            raise UsageError(f"--by must be facilitator, module or week (got {by!r})")
    scripted = fmt in ("json", "csv")
    if open_ and (html is not None or scripted):
        raise UsageError("--open shows the page itself: not with --html, --json or --csv")
    chosen = filters(
        trimester, cohort, intake, facilitator, mode, module, class_code, year, status, all_
    )
    now = current().now
    data = call(api.report, api.ReportQuery(filters=chosen))
    caption = render.caption(chosen, now.astimezone(current().config().tz))
    if scripted and by is None:  # scripts: the contract's fields, id order, all
        if fmt == "json":
            hidden = {"offerings": {"__all__": set(VIEW_FIELDS)}}
            write_json(data.model_dump(mode="json", exclude=hidden))
        else:
            write_csv(render.cells(data), render.CELL_COLUMNS)
        return
    if by is not None and scripted:
        _totals(render.totals_by(data, by), by, f"Compliance by {by}", json_=json_, csv_=csv_)
        return
    view, notes = data, []
    scope = render.describe(chosen).capitalize()
    if not all_ and status is None:
        caption = render.caption(chosen, now.astimezone(current().config().tz), running=True)
        view = headline.running(data)
        # what is left out, cancelled offerings included (--all shows them)
        every = filters(
            trimester, cohort, intake, facilitator, mode, module, class_code, year, None, True
        )
        said = _hidden_offerings(every)
        notes += [said] if said else []
        scope = "Running offerings" + (
            f" ({render.describe(chosen)})" if chosen_any(chosen) else ""
        )
    if sort == "rank":
        view = headline.ranked(view)
    week = headline.current_week(view, now.astimezone(current().config().tz).date())
    head = headline.headline(view, scope, week)
    points = headline.trend(view)
    trend = headline.trend_line(points)
    totals = render.ranked_totals(render.totals_by(view, by)) if by is not None else None
    title = "Weekly activity compliance" + (f" by {by}" if by else "")
    if html is not None or open_:
        figures = headline.figures(view)
        page = render.page(
            view,
            title=title,
            caption=caption,
            figures=figures,
            notes=[head, *notes],
            week=week,
            trend_svg=headline.svg(points),
            totals=totals,
            by=by,
        )
        from cms_cli.core.files import write_output

        target = html if html is not None else views.temporary_page()
        write_output(target, page)
        message(f"wrote {target}")
        if open_:
            views.open_in_browser(target)
        return
    if not view.offerings:
        message(head)
        for note in notes:
            message(note)
        if not data.offerings:
            message(f"no offerings match ({render.describe(chosen)})")
        return
    if totals is not None:
        message(head)
        for note in notes:
            message(note)
        _totals(totals, by or "", title, json_=False, csv_=False)
        if trend:
            message(trend)
        return
    from cms_cli.core import tables
    from cms_cli.core.output import stdout_console

    console = stdout_console()
    on_screen = sys.stdout.isatty()
    lines = render.terminal(
        view,
        console,
        title=caption,
        fit=on_screen,
        headline=head,
        notes=notes,
        week=week,
    )
    if trend:
        import textwrap

        lines += textwrap.wrap(trend, console.width if on_screen else 10_000)
    tables.show(console, lines, pager=not no_pager)


def chosen_any(chosen: Any) -> bool:
    """Whether any filter narrows the offerings (beyond the defaults)."""
    from cms_cli.tracker import render

    return render.describe(chosen) != "all offerings"


def _totals(rows: list[Any], by: str, title: str, *, json_: bool, csv_: bool) -> None:
    """`report --by`: one row per group, its key under the grouping's name. For people
    the columns say "overdue" (the legend's word; the field is `late`)."""
    shown = [{by: r.group, **r.model_dump(exclude={"group"})} for r in rows]
    listing(
        shown,
        (by, "offerings", "due", "complete", "late", "missing", "rate"),
        json_=json_,
        csv_=csv_,
        title=title,
        noun=f"{by}s",
        empty="no offerings match",
        table=(
            (by, "offerings", "due", "complete", "overdue", "missing", "rate"),
            views.shown_totals,
        ),
        drop=("offerings",),
    )


@app.command()
def attendance(
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
    offering: OfferingOpt = None,
    student: Annotated[str | None, typer.Option("--student", help="One student's e-mail.")] = None,
    below: Annotated[
        float | None,
        typer.Option("--below", metavar="PCT", help="Only students under PCT % attendance."),
    ] = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """Attendance per student and offering: weeks recorded, present, rate, the current
    run of absences and the last week attended.

    Managers see every offering, facilitators theirs, students their own. Filters as
    in cms offering list; the running offerings unless --all or --status. For people the
    students most at risk come first (lowest rate, then the longest run of absences),
    present/recorded side by side, rates under 50% and 75% coloured on a terminal, and
    a count at the end.

    Example: cms tracker attendance --below 75
    """
    from cms_cli.tracker import api
    from cms_cli.tracker.public import AttendanceFilters, AttendancePublic

    running_only = not all_ and status is None and offering is None
    if running_only:
        status = "active"
    offerings = filters(
        trimester, cohort, intake, facilitator, mode, module, class_code, year, status, all_
    )
    chosen = AttendanceFilters(
        **offerings.model_dump(), offering_id=offering, student=student, below=below
    )
    view = View.of(limit, wide, no_pager)
    query = api.AttendanceQuery(filters=chosen)
    people = not (json_ or csv_)
    rows = listed(api.attendance, query, limit=0 if people else view.fetch(json_, csv_))
    footer = hidden_said = None
    if people:
        rows = type(rows)(sorted(rows, key=views.at_risk_first), getattr(rows, "total", None))
        footer = views.attendance_count(rows, below, status)
        if running_only:  # what the default left out, and how to see it
            others = filters(
                trimester, cohort, intake, facilitator, mode, module, class_code, year, None, True
            )
            hidden_said = _hidden_offerings(others)
            footer += f"\n{hidden_said}" if hidden_said else ""
    listing(
        rows,
        columns(AttendancePublic),
        json_=json_,
        csv_=csv_,
        view=view,
        title="Attendance",
        noun="students",
        empty="no enrolled students match",
        table=(
            (
                "student",
                "offering_id",
                "module",
                "present",
                "rate",
                "absent_run",
                "last_present_week",
            ),
            views.shown_attendance,
        ),
        drop=("last_present_week", "module"),
        style=views.rate_style,
        footer=footer,
        keep=("present", "rate", "absent_run", "last_present_week"),
    )
    if people and not rows and hidden_said:  # nothing running: say what was left out
        message(hidden_said)


def _hidden_offerings(others: Any) -> str | None:
    """ "6 completed, 6 planned, 1 cancelled hidden: --all": how many offerings the
    filters ``others`` match in each status but the running one (cancelled included, as
    --all shows them), which the report and `tracker attendance` leave out unless
    --all. One count a status (a page of one row and its total), never the rows."""
    from cms_cli.offerings import api as offerings_api
    from cms_cli.tracker.headline import hidden_line

    counts = {}
    for status in ("completed", "planned", "cancelled"):
        narrowed = others.model_copy(update={"status": status, "include_cancelled": True})
        page = listed(offerings_api.listing, offerings_api.OfferingQuery(filters=narrowed), limit=1)
        counts[status] = page.total
    return hidden_line(counts)


@app.command()
def deadlines(
    offering: OfferingOpt = None,
    facilitator: Annotated[
        str | None,
        typer.Option("--facilitator", help="Whose deadlines (managers; default: all)."),
    ] = None,
    ics: Annotated[
        Path | None,
        typer.Option("--ics", help="Also write them as an iCalendar file for your calendar."),
    ] = None,
    json_: JsonOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """The weeks still to log and when each is due, in the institution's time zone.

    --ics writes one calendar event per week at its due time, with a reminder a day
    before; importing the file again updates the events instead of adding copies.

    Example: cms tracker deadlines --facilitator ana.lopez@uni.example --ics deadlines.ics
    """
    from cms_cli.core.output import message
    from cms_cli.tracker import api
    from cms_cli.tracker.public import DeadlinePublic

    rules, now = _deadlines(), current().now
    view = View.of(limit, wide, no_pager)
    query = api.DeadlineQuery(offering_id=offering, facilitator=facilitator)
    # Every deadline when they go to a calendar file; else the rows shown.
    rows = listed(api.deadlines, query, limit=0 if ics is not None else view.fetch(json_))
    if ics is not None:
        from cms_cli.core.files import write_output
        from cms_cli.tracker.ics import calendar_file

        write_output(ics, calendar_file(rows, deadlines=rules, now=now))
        message(f"wrote {ics}: {len(rows)} deadline(s)")
    listing(
        rows,
        columns(DeadlinePublic),
        json_=json_,
        view=view,
        title="Deadlines",
        noun="deadlines",
        empty="no deadlines ahead",
        table=(
            ("due_at", "offering_id", "module", "week", "last_day", "facilitator", "complete"),
            dict,
        ),
        drop=("facilitator", "last_day", "complete"),
    )


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(help="CSV: offering,week, the six activities, notes, present, absent."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row; write nothing.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Log many weeks from a CSV file: each row creates its week's log or updates the
    fields it gives; all rows or none.

    Columns: offering, week, formative_one_grading, formative_two_grading,
    summative_grading, course_moderation, intranet_sync, grade_book_status (done,
    pending or not-started), notes, present or absent (e-mails separated by ;, or
    present "all"). An empty cell keeps what is there. Every row is checked as cms
    tracker log checks its options; each problem is printed as `line N: ...` and
    nothing is written. See docs/examples/weeks.csv.

    Example: cms tracker import docs/examples/weeks.csv --dry-run
    """
    from cms_cli.core.csvfile import header_first, upload
    from cms_cli.core.output import import_result
    from cms_cli.tracker import api
    from cms_cli.tracker.public import IMPORT_COLUMNS

    columns = IMPORT_COLUMNS
    report = call(api.importing, upload(file, dry_run), ask=header_first(columns))
    import_result(report, "log", json_=json_)


@app.command()
def delete(
    offering: Annotated[int, typer.Option("--offering", help="Offering id.")],
    week: Annotated[int, typer.Option("--week", help="Week number.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a week's log (managers).

    Example: cms tracker delete --offering 9 --week 5 --yes
    """
    from cms_cli.tracker import api

    question = f"Delete the log of week {week} of offering {offering}?"
    # exit 5 or 3 before asking
    call(api.delete, api.LogRef(offering_id=offering, week=week), ask=confirming(question, yes=yes))
    result(f"Deleted the log of week {week} of offering {offering}.")
