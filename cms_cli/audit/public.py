"""An audit event as shown, and the entities the trail knows: plain pydantic, so that a
client of `cms serve` reads them without SQLAlchemy (the table is in models.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ConfigDict

from cms_cli.core.base import Model

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


class AuditEventPublic(Model):
    """An event as `cms audit list` shows it, to people and scripts alike."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def with_change(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event with a short ``change`` text for people: what differs before and after."""
    import json

    from cms_cli.core.output import plain

    before, after = event.get("before") or {}, event.get("after") or {}
    created = not before
    parts = []
    for key in {**before, **after}:
        old, new = before.get(key), after.get(key)
        if old == new or (
            created and (new is None or (key.endswith("_at") and key != "expires_at"))
        ):
            continue
        show_new = json.dumps(plain(new), ensure_ascii=False).strip('"')
        if key in before:
            show_old = json.dumps(plain(old), ensure_ascii=False).strip('"')
            parts.append(f"{key}: {show_old} → {show_new}")
        else:
            parts.append(f"{key}={show_new}")
    return {**event, "change": "; ".join(parts)}
