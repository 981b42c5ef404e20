"""``cms tracker log`` on a terminal: a form that never loses an answer.

Each answer is checked where it is given and asked again when it is wrong (a typo in
the last e-mail no longer throws away the six answers before it). Statuses take
``d``/``p``/``n``; Enter keeps the value shown. Attendance is a numbered checklist of
the enrolled students where "all present" is an explicit answer. Nothing is written
until a summary has been confirmed. Prompts and the summary go to stderr: stdout stays
for the result (``--json``). Never used off a terminal (the command exits 2 there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from cms_cli.core import limits, text
from cms_cli.core.errors import Cancelled, ValidationError
from cms_cli.tracker.public import ACTIVITIES, Status

if TYPE_CHECKING:
    from rich.console import Console

    from cms_cli.tracker.public import Choice, Draft, LogChanges

T = TypeVar("T")

SHORT = {"d": Status.done, "p": Status.pending, "n": Status.not_started}
LABELS = {
    "formative_one_grading": "Formative one grading",
    "formative_two_grading": "Formative two grading",
    "summative_grading": "Summative grading",
    "course_moderation": "Course moderation",
    "intranet_sync": "Intranet sync",
    "grade_book_status": "Grade-book status",
}


def ask(console: Console, question: str, parse: Callable[[str], T]) -> T:
    """Ask until ``parse`` accepts the answer; its ValidationError is shown, not fatal."""
    from cms_cli.core.prompts import asking, nothing_open

    nothing_open()
    while True:
        from rich.text import Text

        with asking("cancelled; nothing was saved"):  # Ctrl-C or Ctrl-D: nothing written
            answer = console.input(Text(question))
        try:
            return parse(answer.strip())
        except ValidationError as problem:
            console.print(f"  [red]{_escape(problem.message)}[/red] - try again", highlight=False)


def _escape(message: str) -> str:
    from rich.markup import escape

    return escape(text.neutralise(message))


def pick_offering(console: Console, offerings: Sequence[Choice]) -> int:
    """A numbered choice among the facilitator's active offerings."""
    console.print("[bold]You have several active offerings:[/bold]")
    for number, one in enumerate(offerings, start=1):
        console.print(
            f"  {number}) offering {one.offering_id}: {_escape(one.name)}", highlight=False
        )

    def parse(answer: str) -> int:
        if answer.isdigit() and 1 <= int(answer) <= len(offerings):
            return offerings[int(answer) - 1].offering_id
        raise ValidationError(f"type a number from 1 to {len(offerings)}")

    return ask(console, f"Which one? [1-{len(offerings)}]: ", parse)


def pick_week(console: Console, weeks: int, current: int | None) -> int:
    default = f" [{current}]" if current is not None else ""

    def parse(answer: str) -> int:
        if not answer and current is not None:
            return current
        if answer.isdigit() and 1 <= int(answer) <= weeks:
            return int(answer)
        raise ValidationError(f"the week is a number from 1 to {weeks}")

    return ask(console, f"Week (1-{weeks}){default}: ", parse)


def _status(current: Status) -> Callable[[str], Status]:
    def parse(answer: str) -> Status:
        if not answer:
            return current
        if answer.lower() in SHORT:
            return SHORT[answer.lower()]
        from cms_cli.tracker.service import parse_status

        try:
            return parse_status(answer)
        except ValidationError:
            raise ValidationError(
                f"{answer!r} is not a status: d (done), p (pending) or n (not started)"
            ) from None

    return parse


def _attendance(
    students: Sequence[tuple[str, str]], current: dict[str, bool] | None
) -> Callable[[str], list[str] | None]:
    """Parse: "a" (all present), the numbers or e-mails of the absent students, or
    Enter (keep what is recorded). Returns the absent e-mails; None keeps."""
    by_email = {email.lower(): email for email, _ in students}

    def parse(answer: str) -> list[str] | None:
        if not answer:
            return None
        if answer.lower() in ("a", "all"):
            return []
        absent: list[str] = []
        for token in answer.replace(",", " ").split():
            if token.isdigit() and 1 <= int(token) <= len(students):
                email = students[int(token) - 1][0]
            elif token.lower() in by_email:
                email = by_email[token.lower()]
            else:
                raise ValidationError(
                    f"{text.shorten(token, 40)!r} is not on the list: "
                    f"numbers 1 to {len(students)}, 'a' for all present"
                )
            if email not in absent:
                absent.append(email)
        return absent

    return parse


def _notes(current: str | None) -> Callable[[str], str | None]:
    def parse(answer: str) -> str | None:
        if not answer:
            return current
        if answer == "-":
            return ""
        text.multi_line(answer, "notes", max_length=limits.NOTES)
        return answer

    return parse


def fill(console: Console, draft: Draft) -> LogChanges:
    """Ask every field of ``draft``'s week, show a summary and ask to save."""
    from cms_cli.tracker.service import LogChanges, completion_of

    console.print(
        f"[bold]Offering {draft.offering_id} ({_escape(draft.module)}), week {draft.week}[/bold]",
        highlight=False,
    )
    console.print("  d = done, p = pending, n = not started; Enter keeps the value in brackets")
    statuses: dict[str, Status] = {}
    for name in ACTIVITIES:
        now = draft.statuses[name]
        statuses[name] = ask(console, f"{LABELS[name]} [{now.value}]: ", _status(now))

    absent: list[str] | None = None
    if draft.students:
        console.print(f"[bold]Attendance[/bold] ({len(draft.students)} enrolled):")
        width = len(str(len(draft.students)))
        for number, (email, name) in enumerate(draft.students, start=1):
            mark = ""
            if draft.attendance is not None and email in draft.attendance:
                mark = "  (present)" if draft.attendance[email] else "  (absent)"
            console.print(
                f"  {number:>{width}}) {_escape(name)} <{_escape(email)}>{mark}", highlight=False
            )
        console.print("  a = all present; or the numbers of the absent students, e.g. 2 5")
        keep = "as recorded" if draft.attendance is not None else "not recorded yet"
        absent = ask(
            console, f"Attendance [{keep}]: ", _attendance(draft.students, draft.attendance)
        )
    else:
        console.print("Attendance: nobody is enrolled, nothing to record.")

    shown_notes = text.shorten(draft.notes or "", 30) if draft.notes else "none"
    notes = ask(console, f"Notes [{shown_notes}] ('-' clears): ", _notes(draft.notes))

    taken = draft.attendance is not None or absent is not None
    _summary(console, draft, statuses, absent, notes, completion_of(statuses.values(), taken))

    def yes_no(answer: str) -> bool:
        if answer.lower() in ("", "y", "yes"):
            return True
        if answer.lower() in ("n", "no"):
            return False
        raise ValidationError("answer y or n")

    if not ask(console, "Save this week? [Y/n]: ", yes_no):
        raise Cancelled("cancelled; nothing was saved")
    changes = LogChanges(
        statuses={k: v.value for k, v in statuses.items()},
        notes=notes if notes != draft.notes else None,
    )
    if absent == []:
        changes.all_present = True
    elif absent:
        changes.absent = absent
    return changes


def _summary(
    console: Console,
    draft: Draft,
    statuses: dict[str, Status],
    absent: list[str] | None,
    notes: str | None,
    completion: int,
) -> None:
    console.print("[bold]To be saved:[/bold]")
    for name in ACTIVITIES:
        changed = "" if statuses[name] is draft.statuses[name] else "  (changed)"
        console.print(f"  {LABELS[name]:<22} {statuses[name].value}{changed}", highlight=False)
    if absent is None:
        if draft.attendance is None:
            attendance = "not recorded"
        else:
            missing = sum(1 for present in draft.attendance.values() if not present)
            attendance = f"as recorded ({missing} absent)"
    elif not absent:
        attendance = f"all {len(draft.students)} present"
    else:
        attendance = f"{len(draft.students) - len(absent)} present, absent: {', '.join(absent)}"
    console.print(f"  {'Attendance':<22} {_escape(attendance)}", highlight=False)
    console.print(f"  {'Notes':<22} {_escape(text.shorten(notes or '', 50) or 'none')}")
    console.print(f"  {'Completion':<22} {text.percent(completion)}", highlight=False)
