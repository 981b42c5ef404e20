"""The append-only audit trail: who did what, when, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cms_cli.core.db import utc_column

ENTITIES = (
    "user",
    "session",
    "module",
    "cohort",
    "class",
    "offering",
    "enrolment",
    "log",
    "notification",
    "reflection",
)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=utc_column(index=True))
    actor: str = Field(max_length=254, index=True)
    action: str = Field(max_length=50)
    entity: str = Field(max_length=30, index=True)
    entity_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
