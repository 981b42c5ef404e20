"""cms user: accounts (managers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cms_cli.api import call, listed
from cms_cli.core.context import current
from cms_cli.core.errors import CmsError
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
    listing,
    message,
    result,
    when,
    write_json,
)
from cms_cli.core.prompts import confirming, interactive, read_password

if TYPE_CHECKING:
    from cms_cli.auth.models import Role

app = typer.Typer(help="Manage accounts (managers).", no_args_is_help=True, rich_markup_mode=None)

RoleChoice = typer.Option("--role", help="manager, facilitator or student.", case_sensitive=False)
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password as one line from stdin.")
]
EmailArg = Annotated[str, typer.Argument(help="The account's e-mail.", metavar="EMAIL")]


@app.command()
def add(
    email: Annotated[str, typer.Option("--email", help="E-mail, unique.")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[str, RoleChoice],
    employee_id: Annotated[str | None, typer.Option("--employee-id", help="Staff number.")] = None,
    student_id: Annotated[str | None, typer.Option("--student-id", help="Student number.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account (exit 6 when the e-mail or an id is taken).

    On a terminal it asks for the password; off one, give --password-stdin or set it
    later with cms user set-password.

    Example: cms user add --email ana.lopez@uni.example --name "Ana Lopez" --role facilitator
    """
    from cms_cli.auth import api

    parsed = _role(role)
    password = None
    if password_stdin or interactive():
        password = read_password(password_stdin, confirm=True)
    account = api.NewAccount(
        email=email,
        name=name,
        role=parsed,
        employee_id=employee_id,
        student_id=student_id,
        password=password,
    )
    made = call(api.add, account).email
    result(f"Created {parsed.value} {made}.")
    if password is None:
        message(f"hint: no password yet; set one with cms user set-password {made}")


def _role(text: str) -> Role:
    from cms_cli.auth.models import Role
    from cms_cli.core.errors import UsageError

    try:
        return Role(text.strip().lower())
    except ValueError:
        raise UsageError(
            f"invalid --role {text!r}", hint="choose manager, facilitator or student"
        ) from None


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV: email,name,role[,employee_id,student_id].")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")] = False,
    invite_: Annotated[
        bool,
        typer.Option("--invite", help="Then e-mail each new account a code to set its password."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Create accounts from a CSV file: all rows or none.

    Every row is checked first; each problem is reported as `line N: ...` and nothing is
    written. Imported accounts have no password: with --invite each is e-mailed a
    one-time code to choose one (cms auth accept); or later, cms user invite.

    Example: cms user import docs/examples/staff.csv --dry-run

    Example: cms user import staff.csv --invite
    """
    from cms_cli.auth import api
    from cms_cli.auth.public import IMPORT_COLUMNS
    from cms_cli.core.csvfile import header_first, upload

    columns = IMPORT_COLUMNS
    config = current().config()
    if invite_ and not dry_run and not current().server_url and not config.settings.smtp_url:
        from cms_cli.core.errors import Unavailable

        raise Unavailable(  # before anything is written: the invitations could not go
            "e-mail is off (no CMS_SMTP_URL): --invite e-mails each account a code",
            hint="configure smtp_url, or import without --invite and invite later",
        )
    report = call(api.importing, upload(file, dry_run), ask=header_first(columns))
    import_result(report, "account", json_=json_ and not invite_)
    if invite_ and not dry_run:
        emails = _emails_of(file)
        try:
            invited = call(api.invite, api.Invitation(emails=emails))
        except CmsError as exc:
            exc.message = f"the accounts were created, but not invited: {exc.message}"
            exc.hint = "once fixed: cms user invite EMAIL..."
            raise
        if json_:
            write_json({"imported": report, "invited": invited})
        else:
            result(f"Invited {len(invited)} account(s): each was e-mailed a one-time code.")


def _emails_of(file: Path) -> list[str]:
    """The email column of an import file the import has just accepted."""
    import csv

    with file.open(newline="", encoding="utf-8-sig") as handle:
        return [row["email"] for row in csv.DictReader(handle) if row.get("email")]


@app.command()
def invite(
    emails: Annotated[list[str], typer.Argument(help="The accounts' e-mails.", metavar="EMAIL...")],
    json_: JsonOpt = False,
) -> None:
    """E-mail each account a one-time code to choose its own password (managers).

    All or none: every address must be an active account (cms user add, or user import
    first). A new code replaces an unused older one; codes expire after invite_hours
    (72). Managers never handle anyone's password. Needs e-mail (smtp_url).

    Example: cms user invite ana.lopez@uni.example ben.okafor@uni.example
    """
    from cms_cli.auth import api

    invited = call(api.invite, api.Invitation(emails=emails))
    if json_:
        write_json(invited)
        return
    config = current().config()
    for one in invited:
        result(
            f"Invited {one.email}: code e-mailed, valid until {when(one.expires_at, config.tz)}."
        )


@app.command("list")
def list_(
    role: Annotated[str | None, typer.Option("--role", help="Only this role.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Only active or inactive ones.")
    ] = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List accounts.

    Example: cms user list --role facilitator --csv > facilitators.csv
    """
    from cms_cli.auth import api
    from cms_cli.auth.public import UserPublic

    parsed = _role(role) if role is not None else None
    view = View.of(limit, wide, no_pager)
    query = api.UserQuery(role=parsed, active=active)
    rows = listed(api.listing, query, limit=view.fetch(json_, csv_))
    listing(
        rows,
        columns(UserPublic),
        json_=json_,
        csv_=csv_,
        view=view,
        title="Accounts",
        noun="accounts",
        empty="no accounts match",
        drop=("created_at", "student_id", "employee_id", "is_active"),
    )


@app.command("set-password")
def set_password(email: EmailArg, password_stdin: PasswordStdin = False) -> None:
    """Set another account's password; its sessions end and any lock is lifted.

    Example: printf '%s\\n' "$PW" | cms user set-password ana.lopez@uni.example --password-stdin
    """
    from cms_cli.auth import api

    def password(data: api.NewPassword) -> api.NewPassword:
        new = read_password(password_stdin, prompt="New password", confirm=True)
        return data.model_copy(update={"password": new})

    # exit 5 or 3 before the password is asked
    done = call(api.set_password, api.NewPassword(email=email), ask=password)
    result(f"Password of {done.email} set.")


@app.command()
def deactivate(
    email: Annotated[
        str | None,
        typer.Argument(help="The account's e-mail.", metavar="EMAIL", show_default=False),
    ] = None,
    class_code: Annotated[
        str | None,
        typer.Option("--class", help="Instead: the class's students with no running enrolment."),
    ] = None,
    role: Annotated[str, typer.Option("--role", help="With --class: whom (student).")] = "student",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --class: say whom; change nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Deactivate an account: it cannot log in and its sessions stop working.

    With --class CODE --role student: every student of the class's offerings who has no
    running enrolment (in an offering, of any class, neither cancelled, closed nor
    ended), each audited as one deactivation; at term end, after cms offering close.

    Example: cms user deactivate ana.lopez@uni.example --yes

    Example: cms user deactivate --class 2026J --role student --dry-run
    """
    from cms_cli.auth import api
    from cms_cli.core.errors import UsageError

    if (email is None) == (class_code is None):
        raise UsageError("give an EMAIL or --class CODE (one of them)")
    if class_code is not None:
        code = class_code.strip().upper()
        ask = (
            None
            if dry_run
            else confirming(
                f"Deactivate the students of class {code} with no running enrolment?", yes=yes
            )
        )
        data = api.ClassDeactivation(class_code=class_code, role=role, dry_run=dry_run)
        gone = call(api.deactivate_class, data, ask=ask)
        n = len(gone.accounts)
        kept = f"; {gone.kept} kept (enrolled in a running offering)" if gone.kept else ""
        already = f"; {gone.already} inactive already" if gone.already else ""
        verb = "would be deactivated (dry run)" if dry_run else "deactivated"
        result(f"{n} student(s) of {code} {verb}{kept}{already}.")
        for email in gone.accounts:
            result(f"  {email}")
        return
    assert email is not None
    if dry_run:
        raise UsageError("--dry-run goes with --class")
    ask = confirming(f"Deactivate {email.strip().lower()}?", yes=yes)
    done = call(api.set_active, api.Activation(email=email, active=False), ask=ask)
    result(f"Deactivated {done.name}." if done.changed else f"{done.name} was already inactive.")


@app.command()
def activate(email: EmailArg) -> None:
    """Activate a deactivated account again.

    Example: cms user activate ana.lopez@uni.example
    """
    from cms_cli.auth import api

    done = call(api.set_active, api.Activation(email=email, active=True))
    result(f"Activated {done.name}." if done.changed else f"{done.name} was already active.")
