"""Accounts, sessions and failed logins.

Model variants keep secrets out of output: ``User`` (the table, with the password
hash) is never rendered; commands render ``UserPublic``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlmodel import Field, SQLModel

from cms_cli.auth.public import UserPublic as UserPublic
from cms_cli.core.db import str_enum, utc_column
from cms_cli.core.roles import Role as Role
from cms_cli.core.roles import require as require

#: An e-mail column: its bytes decide equality on every database.
EMAIL_TYPE = sa.String(254).with_variant(mysql.VARCHAR(254, collation="utf8mb4_bin"), "mysql")


class UserBase(SQLModel):
    #: Compared byte for byte on MySQL too (utf8mb4_bin): the default collation would
    #: take àna@ for ana@ (accents and case ignored) and log one into the other.
    email: str = Field(max_length=254, unique=True, sa_type=EMAIL_TYPE)
    name: str = Field(max_length=200)
    role: Role = Field(sa_type=str_enum(Role))
    employee_id: str | None = Field(default=None, max_length=50, unique=True)
    student_id: str | None = Field(default=None, max_length=50, unique=True)


class User(UserBase, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=100)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class AuthSession(SQLModel, table=True):
    """A login. Only the SHA-256 of the token is stored."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class LoginThrottle(SQLModel, table=True):
    """Failed logins and the lock of one address, known account or not.

    Keyed by the SHA-256 of the normalised e-mail (addresses people mistype, or try,
    are not kept in clear). Every login locks its address's row first, so attempts on
    one address are taken one at a time on every database: the fifth failure locks,
    and nothing after it is evaluated. An unknown address locks like a known one, so
    the lock message says nothing about which accounts exist.
    """

    __tablename__ = "login_throttle"

    address_key: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0)
    window_start: datetime = Field(sa_column=utc_column(index=True))
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class AccessCode(SQLModel, table=True):
    """A one-time code that lets someone set their own password: an invitation
    (`cms user invite`) or a reset (`cms auth forgot`). Only its SHA-256 is kept; it is
    used once (``used_at``) and expires (``invite_hours``)."""

    __tablename__ = "access_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    #: "invite" or "reset".
    purpose: str = Field(max_length=8)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
