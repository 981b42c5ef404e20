"""The append-only audit trail: who did what, when, before and after.

The model ladder (as in the full-stack FastAPI template): ``AuditEventBase`` holds the
fields, ``AuditEvent`` is the table, ``AuditEventPublic`` what is shown; the service
returns Public models and output renders them, field order from the model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cms_cli.audit.public import ENTITIES as ENTITIES
from cms_cli.audit.public import AuditEventPublic as AuditEventPublic
from cms_cli.core.db import utc_column


class AuditEventBase(SQLModel):
    """What an audit event says (its JSON fields, in their documented order)."""

    at: datetime = Field(sa_column=utc_column(index=True))
    actor: str = Field(max_length=254, index=True)
    action: str = Field(max_length=50)
    entity: str = Field(max_length=30, index=True)
    entity_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class AuditEvent(AuditEventBase, table=True):
    """The table: an event and its id (the order of events at the same instant)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    #: The client's network address when the change came through `cms serve`; NULL
    #: for a command run where the database is (an operator's, or a local user's).
    origin: str | None = Field(default=None, max_length=64)
