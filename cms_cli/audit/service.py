"""Every write calls ``record``; ``list_events`` serves ``cms audit list``."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlmodel import Session, col, select

from cms_cli.audit.models import ENTITIES, AuditEvent, AuditEventPublic
from cms_cli.core import clock
from cms_cli.core.context import client_address
from cms_cli.core.errors import ValidationError
from cms_cli.core.output import plain
from cms_cli.core.roles import Actor, Role, require

SYSTEM = "system"


def actor_name(actor: Actor | str | None) -> str:
    if actor is None:
        return SYSTEM
    if isinstance(actor, str):
        return actor
    return actor.email


Recorded = BaseModel | dict[str, Any]


def _recorded(value: Recorded | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    return dict(plain(value))


def record(
    session: Session,
    actor: Actor | str | None,
    action: str,
    entity: str,
    entity_id: Any = None,
    *,
    before: Recorded | None = None,
    after: Recorded | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it commits with the change).

    ``before`` and ``after`` are what was shown: a Public model (its fields by their
    shown names) or a mapping. A change made through `cms serve` records the client's
    address too (``origin``)."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown audit entity {entity!r}")
    event = AuditEvent(
        at=clock.now(),
        actor=actor_name(actor),
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=_recorded(before),
        after=_recorded(after),
        origin=client_address.get(),
    )
    session.add(event)
    return event


def list_events(
    session: Session,
    actor: Actor,
    *,
    entity: str | None = None,
    actor_email: str | None = None,
    since: date | None = None,
    entity_id: str | None = None,
    tz: ZoneInfo,
) -> list[AuditEventPublic]:
    """Events newest first (today's change at the top); ``since`` is a day in the
    institution's time zone; ``entity_id`` with ``entity``, one object's history.
    Managers."""
    require(actor, Role.manager)
    if entity_id is not None and entity is None:
        from cms_cli.core.errors import UsageError

        raise UsageError("--id goes with --entity (e.g. --entity offering --id 9)")
    query = select(AuditEvent)
    if entity is not None:
        if entity not in ENTITIES:
            raise ValidationError(
                f"unknown entity {entity!r}", hint="entities: " + ", ".join(ENTITIES)
            )
        query = query.where(AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id.strip().lower())
    if actor_email is not None:
        query = query.where(AuditEvent.actor == actor_email.strip().lower())
    if since is not None:
        start = datetime.combine(since, time.min, tzinfo=tz)
        query = query.where(col(AuditEvent.at) >= start)
    newest = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    events = session.exec(newest).all()
    return [AuditEventPublic.model_validate(e, from_attributes=True) for e in events]
