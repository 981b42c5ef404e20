"""An audit event as shown, and the entities the trail knows: plain pydantic, so that a
client of `cms serve` reads them without SQLAlchemy (the table is in models.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

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


class AuditEventPublic(BaseModel):
    """An event as `cms audit list` shows it, to people and scripts alike."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
