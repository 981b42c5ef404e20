"""cms user: accounts (managers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

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
    import_result,
    listing,
    message,
    result,
)
from cms_cli.core.prompts import confirm, interactive, read_password

if TYPE_CHECKING:
    from cms_cli.auth.models import Role

app = typer.Typer(help="Manage accounts (managers).", no_args_is_help=True, rich_markup_mode=None)

RoleChoice = typer.Option("--role", help="manager, facilitator or student.", case_sensitive=False)
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password as one line from stdin.")
]
EmailArg = Annotated[str, typer.Argument(help="The account's e-mail.", metavar="EMAIL")]


def _rounds() -> int:
    return current().config().settings.bcrypt_rounds


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
    from cms_cli.auth.remote import through

    parsed = _role(role)
    password = None
    if password_stdin or interactive():
        password = read_password(password_stdin, confirm=True)
    fields = {
        "email": email,
        "name": name,
        "role": parsed.value,
        "employee_id": employee_id,
        "student_id": student_id,
    }

    def local(session: Any, me: Any) -> str:
        from cms_cli.auth import service

        new = service.NewUser(
            email=email,
            name=name,
            role=parsed,
            employee_id=employee_id,
            student_id=student_id,
        )
        return service.add_user(session, me, new, password, rounds=_rounds()).email

    made = through(
        local, lambda api: str(api.post("/users", {**fields, "password": password})["email"])
    )
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
    json_: JsonOpt = False,
) -> None:
    """Create accounts from a CSV file: all rows or none.

    Every row is checked first; each problem is reported as `line N: ...` and nothing is
    written. Imported accounts have no password until cms user set-password.

    Example: cms user import docs/examples/staff.csv --dry-run
    """
    from cms_cli.auth.public import IMPORT_OPTIONAL, IMPORT_REQUIRED
    from cms_cli.auth.remote import remote, upload_import

    api = remote()
    if api is not None:
        columns = (IMPORT_REQUIRED, IMPORT_OPTIONAL)
        report = upload_import(api, "users", file, columns, dry_run=dry_run)
    else:
        from cms_cli.auth import service
        from cms_cli.auth.current import signed_in
        from cms_cli.auth.models import Role, require
        from cms_cli.core.csvfile import CsvFile

        with signed_in() as (session, me):
            require(me, Role.manager)
            with CsvFile(file, IMPORT_REQUIRED, IMPORT_OPTIONAL) as rows:
                report = service.import_users(session, me, rows, dry_run=dry_run, rounds=_rounds())
    import_result(report, "account", json_=json_)


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
    from cms_cli.auth.public import UserPublic
    from cms_cli.auth.remote import through

    parsed = _role(role) if role is not None else None

    def local(session: Any, me: Any) -> list[UserPublic]:
        from cms_cli.auth import service

        return service.list_users(session, me, role=parsed, active=active)

    rows = through(
        local,
        lambda api: [
            UserPublic.model_validate(r)
            for r in api.get("/users", role=parsed.value if parsed else None, active=active)
        ],
    )
    listing(
        rows,
        columns(UserPublic),
        json_=json_,
        csv_=csv_,
        view=View.of(limit, wide, no_pager),
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
    from cms_cli.auth.remote import remote

    api = remote()
    if api is not None:
        api.post("/users/password", {"email": email, "check": True})  # exit 5 before asking
        password = read_password(password_stdin, prompt="New password", confirm=True)
        done = str(api.post("/users/password", {"email": email, "password": password})["email"])
    else:
        from cms_cli.auth import service
        from cms_cli.auth.current import signed_in
        from cms_cli.auth.models import Role, require

        with signed_in() as (session, me):
            require(me, Role.manager)
            password = read_password(password_stdin, prompt="New password", confirm=True)
            done = service.set_password(session, me, email, password, rounds=_rounds()).email
    result(f"Password of {done} set.")


@app.command()
def deactivate(
    email: EmailArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Deactivate an account: it cannot log in and its sessions stop working.

    Example: cms user deactivate ana.lopez@uni.example --yes
    """
    from cms_cli.auth.remote import remote

    api = remote()
    if api is not None:
        api.post("/users/active", {"email": email, "active": False, "check": True})
        confirm(f"Deactivate {email.strip().lower()}?", yes=yes)
        answer = api.post("/users/active", {"email": email, "active": False})
        address, changed = str(answer["email"]), bool(answer["changed"])
    else:
        from cms_cli.auth import service
        from cms_cli.auth.current import signed_in
        from cms_cli.auth.models import Role, require

        with signed_in() as (session, me):
            require(me, Role.manager)
            service.get_user(session, email)
            confirm(f"Deactivate {email.strip().lower()}?", yes=yes)
            user, changed = service.set_active(session, me, email, False)
            address = user.email
    result(f"Deactivated {address}." if changed else f"{address} was already inactive.")


@app.command()
def activate(email: EmailArg) -> None:
    """Activate a deactivated account again.

    Example: cms user activate ana.lopez@uni.example
    """
    from cms_cli.auth.remote import through

    def local(session: Any, me: Any) -> tuple[str, bool]:
        from cms_cli.auth import service

        user, changed = service.set_active(session, me, email, True)
        return user.email, changed

    def far(api: Any) -> tuple[str, bool]:
        answer = api.post("/users/active", {"email": email, "active": True})
        return str(answer["email"]), bool(answer["changed"])

    address, changed = through(local, far)
    result(f"Activated {address}." if changed else f"{address} was already active.")
