"""The three roles, and the check every service starts with.

Roles sit in core because every capability asks them, the audit trail included (which
the account services write to): an actor is anything with a ``role`` and an
``email`` (auth.models.User in practice).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from cms_cli.core.errors import PermissionDenied


class Role(StrEnum):
    manager = "manager"
    facilitator = "facilitator"
    student = "student"


class Actor(Protocol):
    """Who does something: an account (auth.models.User)."""

    @property
    def email(self) -> str: ...

    @property
    def role(self) -> Role: ...


def require(actor: Actor, *roles: Role) -> None:
    """PermissionDenied (exit 5) unless the actor holds one of ``roles``."""
    if actor.role not in roles:
        allowed = " or ".join(r.value for r in roles)
        raise PermissionDenied(f"this needs the {allowed} role (you are a {actor.role.value})")
