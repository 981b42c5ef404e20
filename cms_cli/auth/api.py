"""The account and session operations, each declared once (core.operation): the
server's routes, the client's calls and the local calls are derived from these."""

from __future__ import annotations

from cms_cli.auth.public import Invited, Sent, SessionPublic, SignedIn, UserPublic
from cms_cli.core.base import Model
from cms_cli.core.csvfile import CsvImport, ImportReport
from cms_cli.core.operation import CSV, Operation
from cms_cli.core.results import Account, Standing
from cms_cli.core.roles import Role
from cms_cli.offerings.public import Deactivated

SERVICE = "cms_cli.auth.service"


class Nothing(Model):
    """An operation that takes no input but who calls it."""


class Credentials(Model):
    email: str
    password: str


class PasswordChange(Model):
    #: The current password: a session alone never changes it (a stolen token is not
    #: the account for good).
    old: str
    new: str


class NewAccount(Model):
    email: str
    name: str
    role: Role
    employee_id: str | None = None
    student_id: str | None = None
    password: str | None = None


class UserQuery(Model):
    role: Role | None = None
    active: bool | None = None


class NewPassword(Model):
    email: str
    #: Asked once the account is known to exist and be the caller's to manage.
    password: str = ""


class Activation(Model):
    email: str
    active: bool


class Invitation(Model):
    emails: list[str]


class ForgotRequest(Model):
    email: str


class Acceptance(Model):
    code: str
    #: Asked once the code is known to be valid.
    password: str = ""


class ClassDeactivation(Model):
    class_code: str
    role: str = "student"
    dry_run: bool = False


login = Operation(
    name="auth.login",
    summary="Check a password and open a session (anyone).",
    method="POST",
    path="/auth/login",
    input=Credentials,
    output=SignedIn,
    service=f"{SERVICE}:sign_in",
    needs=("hours", "max_days", "rounds", "now", "source"),
    signed=False,
)
status = Operation(
    name="auth.status",
    summary="Who the session belongs to, until when.",
    method="GET",
    path="/auth/status",
    input=Nothing,
    output=SessionPublic,
    service=f"{SERVICE}:status",
    needs=("auth_session",),
)
refresh = Operation(
    name="auth.refresh",
    summary="Extend the session by session_hours from now.",
    method="POST",
    path="/auth/refresh",
    input=Nothing,
    output=SessionPublic,
    service=f"{SERVICE}:refresh",
    needs=("auth_session", "hours", "max_days"),
)
logout = Operation(
    name="auth.logout",
    summary="End the session.",
    method="POST",
    path="/auth/logout",
    input=Nothing,
    output=Account,
    service=f"{SERVICE}:logout",
    needs=("auth_session",),
)
passwd = Operation(
    name="auth.passwd",
    summary="Change one's own password; one's other sessions end.",
    method="POST",
    path="/auth/passwd",
    input=PasswordChange,
    output=Account,
    service=f"{SERVICE}:change_password",
    check=f"{SERVICE}:may_change_password",
    needs=("auth_session", "rounds"),
)
add = Operation(
    name="user.add",
    summary="Create an account (managers).",
    method="POST",
    path="/users",
    input=NewAccount,
    output=UserPublic,
    service=f"{SERVICE}:add_account",
    needs=("rounds",),
    status_code=201,
)
importing = Operation(
    name="user.import",
    summary="Create accounts from a CSV file, all rows or none (managers).",
    method="POST",
    path="/imports/users",
    input=CsvImport,
    output=ImportReport,
    service=f"{SERVICE}:import_file",
    check=f"{SERVICE}:may_manage",
    needs=("rounds", "progress"),
    upload=CSV,
)
listing = Operation(
    name="user.list",
    summary="Accounts (managers).",
    method="GET",
    path="/users",
    input=UserQuery,
    output=list[UserPublic],
    service=f"{SERVICE}:list_users",
    paged=True,
)
set_password = Operation(
    name="user.set-password",
    summary="Set another account's password; its sessions end (managers).",
    method="POST",
    path="/users/password",
    input=NewPassword,
    output=Account,
    service=f"{SERVICE}:set_password",
    check=f"{SERVICE}:managed_account",
    needs=("rounds",),
)
set_active = Operation(
    name="user.set-active",
    summary="Activate or deactivate an account (managers).",
    method="POST",
    path="/users/active",
    input=Activation,
    output=Standing,
    service=f"{SERVICE}:set_active",
    check=f"{SERVICE}:may_set_active",
)

invite = Operation(
    name="user.invite",
    summary="E-mail people a one-time code to set their own password (managers).",
    method="POST",
    path="/users/invite",
    input=Invitation,
    output=list[Invited],
    service="cms_cli.auth.codes:invite",
    needs=("config",),
)
forgot = Operation(
    name="auth.forgot",
    summary="E-mail a one-time password-reset code (anyone; the same answer for any address).",
    method="POST",
    path="/auth/forgot",
    input=ForgotRequest,
    output=Sent,
    service="cms_cli.auth.codes:forgot",
    needs=("config", "source"),
    signed=False,
)
accept = Operation(
    name="auth.accept",
    summary="Set one's password with an invitation or reset code (anyone holding it).",
    method="POST",
    path="/auth/accept",
    input=Acceptance,
    output=Account,
    service="cms_cli.auth.codes:accept",
    check="cms_cli.auth.codes:may_accept",
    needs=("rounds",),
    signed=False,
)
deactivate_class = Operation(
    name="user.deactivate-class",
    summary="Deactivate a class's students with no running enrolment (managers).",
    method="POST",
    path="/users/deactivate-class",
    input=ClassDeactivation,
    output=Deactivated,
    service="cms_cli.offerings.rollover:deactivate_class",
    check="cms_cli.offerings.rollover:may_deactivate_class",
    needs=("today",),
)

OPERATIONS = (
    login,
    status,
    refresh,
    logout,
    passwd,
    add,
    importing,
    listing,
    set_password,
    set_active,
    deactivate_class,
    invite,
    forgot,
    accept,
)
