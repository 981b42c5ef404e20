"""What an account shows (no hash, no lock internals): plain pydantic, so that a client
of `cms serve` reads it without SQLAlchemy (the tables are in models.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict

from cms_cli.core.base import Model
from cms_cli.core.roles import Role


class UserPublic(Model):
    """What `user list` and `auth status` may show."""

    model_config = ConfigDict(from_attributes=True)

    email: str
    name: str
    role: Role
    employee_id: str | None = None
    student_id: str | None = None
    is_active: bool
    created_at: datetime


class Invited(Model):
    """A person invited: where the code went, until when it is valid."""

    email: str
    expires_at: datetime


class Sent(Model):
    """`auth forgot`'s answer: the same whatever the address."""

    message: str


#: The columns of `user import`'s file.
IMPORT_REQUIRED = ("email", "name", "role")
IMPORT_OPTIONAL = ("employee_id", "student_id")
#: The read-only columns of `user list --csv`: an export, edited, imports as it is.
IMPORT_IGNORED = ("is_active", "created_at")
IMPORT_COLUMNS: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], dict[str, str]] = (
    IMPORT_REQUIRED,
    IMPORT_OPTIONAL,
    IMPORT_IGNORED,
    {},
)


class SessionPublic(Model):
    """Who a session belongs to and until when (`auth status`, `auth refresh`)."""

    email: str
    name: str
    role: Role
    expires_at: datetime


class SignedIn(Model):
    """A new session: its token (shown once, kept by the client) and whose it is."""

    token: str
    expires_at: datetime
    user: UserPublic
