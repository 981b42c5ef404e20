"""The outbox and the inbox as people see them: list, retry, read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.core import clock
from cms_cli.core.errors import NotFound, UsageError, ValidationError
from cms_cli.core.results import Count, Queued
from cms_cli.core.text import normalize_email
from cms_cli.notify.models import (
    InboxItem,
    InboxItemPublic,
    Notification,
    NotificationPublic,
    NotificationStatus,
)

if TYPE_CHECKING:
    from cms_cli.core.config import Config


def _some(ids: Sequence[int | None], shown: int = 10) -> str:
    """Ids for a message: the first ``shown``, and how many more (a request may name
    thousands; its answer stays one short line)."""
    listed = ", ".join(str(i) for i in ids[:shown])
    return listed + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def list_notifications(
    session: Session, actor: User, *, status: str | None = None, recipient: str | None = None
) -> list[NotificationPublic]:
    """Managers see every notification; others their own."""
    query: sa.Select[*tuple[Any, ...]] = sa.select(
        col(Notification.id).label("id"),
        col(Notification.kind).label("kind"),
        col(User.email).label("recipient"),
        col(Notification.offering_id).label("offering_id"),
        col(Notification.week).label("week"),
        col(Notification.status).label("status"),
        col(Notification.attempts).label("attempts"),
        col(Notification.last_error).label("last_error"),
        col(Notification.created_at).label("created_at"),
        col(Notification.sent_at).label("sent_at"),
    ).join(User, col(User.id) == Notification.recipient_id)
    if actor.role is not Role.manager:
        query = query.where(col(Notification.recipient_id) == actor.id)
    if status is not None:
        try:
            query = query.where(
                col(Notification.status) == NotificationStatus(status.strip().lower())
            )
        except ValueError:
            raise ValidationError(
                f"--status must be pending, queued, sent or failed (got {status!r})"
            ) from None
    if recipient is not None:
        query = query.where(col(User.email) == normalize_email(recipient))
    rows = session.execute(query.order_by(col(Notification.id))).all()
    return [NotificationPublic.model_validate(r._asdict()) for r in rows]


def retry(
    session: Session,
    actor: User,
    ids: Sequence[int] = (),
    all_failed: bool = False,
    *,
    config: Config | None = None,
) -> Queued:
    """Put failed (or stuck) notifications back in the queue's hands. Managers.

    The rows become ``queued`` with their attempts reset; once the transaction commits,
    they are handed to ``config``'s queue (a queue that is down: Unavailable, exit 7,
    and the rows wait for the next sweep).
    """
    require(actor, Role.manager)
    if bool(ids) == all_failed:
        raise UsageError("give notification ids, or --all-failed")
    query = select(Notification)
    if all_failed:
        query = query.where(Notification.status == NotificationStatus.failed)
    else:
        query = query.where(col(Notification.id).in_(list(ids)))
    rows = session.exec(query.order_by(col(Notification.id))).all()
    if not all_failed:
        missing = sorted(set(ids) - {r.id for r in rows})
        if missing:
            raise NotFound(f"no notification with id {_some(missing)}")
        sent = [r.id for r in rows if r.status is NotificationStatus.sent]
        if sent:
            raise ValidationError(f"already sent: {_some(sent)}")
    now = clock.now()
    for row in rows:
        before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
        row.status = NotificationStatus.queued
        row.attempts = 0
        row.queued_at = now
        row.claim_token = None
        row.claimed_at = None
        audit.record(
            session,
            actor,
            "retry",
            "notification",
            row.id,
            before=before,
            after={"status": row.status},
        )
    session.flush()
    chosen = [r.id for r in rows if r.id is not None]
    if config is not None and chosen:

        def enqueue(_: Session) -> None:
            from cms_cli.notify import queue

            queue.enqueue_deliveries(config, chosen)

        sa.event.listen(session, "after_commit", enqueue, once=True)
    return Queued(ids=chosen)


def inbox(session: Session, actor: User, *, include_read: bool) -> list[InboxItemPublic]:
    query = select(InboxItem).where(InboxItem.user_id == actor.id)
    if not include_read:
        query = query.where(col(InboxItem.read_at).is_(None))
    items = session.exec(query.order_by(col(InboxItem.id).desc())).all()
    return [InboxItemPublic.model_validate(i, from_attributes=True) for i in items]


def inbox_item(session: Session, actor: User, item_id: int) -> InboxItemPublic:
    """One of the actor's inbox items, marked read (NotFound for anyone else's: the
    numbering of other people's inboxes is nobody's business)."""
    item = session.exec(
        select(InboxItem).where(InboxItem.id == item_id, InboxItem.user_id == actor.id)
    ).first()
    if item is None:
        raise NotFound(f"no inbox item {item_id} of yours", hint="cms inbox --all lists them")
    if item.read_at is None:
        item.read_at = clock.now()
    return InboxItemPublic.model_validate(item, from_attributes=True)


def mark_read(
    session: Session, actor: User, ids: Sequence[int] = (), everything: bool = False
) -> Count:
    if bool(ids) == everything:
        raise UsageError("give inbox ids, or --all")
    query = sa.update(InboxItem).where(
        col(InboxItem.user_id) == actor.id, col(InboxItem.read_at).is_(None)
    )
    if not everything:
        mine = set(
            session.exec(
                select(InboxItem.id).where(
                    InboxItem.user_id == actor.id, col(InboxItem.id).in_(list(ids))
                )
            ).all()
        )
        unknown = sorted(set(ids) - mine)
        if unknown:
            raise NotFound(f"no inbox item {_some(unknown)} of yours")
        query = query.where(col(InboxItem.id).in_(list(ids)))
    from cms_cli.core.db import rowcount

    return Count(count=rowcount(session.execute(query.values(read_at=clock.now()))))
