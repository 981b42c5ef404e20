"""The audit trail's operation, declared once (core.operation)."""

from __future__ import annotations

from datetime import date

from pydantic import ConfigDict, Field

from cms_cli.audit.public import AuditEventPublic
from cms_cli.core.base import Model
from cms_cli.core.operation import Operation


class AuditQuery(Model):
    model_config = ConfigDict(populate_by_name=True)

    entity: str | None = None
    #: Who did it: an e-mail, or "system".
    actor_email: str | None = Field(default=None, alias="actor")
    since: date | None = None
    #: With ``entity``: one object's history (an offering's id, a user's e-mail...).
    entity_id: str | None = Field(default=None, alias="id")


listing = Operation(
    name="audit.list",
    summary="Audit events, newest first (managers).",
    method="GET",
    path="/audit",
    input=AuditQuery,
    output=list[AuditEventPublic],
    service="cms_cli.audit.service:list_events",
    needs=("tz",),
    paged=True,
)

OPERATIONS = (listing,)
