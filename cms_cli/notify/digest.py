"""Digests: one e-mail per recipient for every notification a task hands over.

With ``digest`` on (the default) the sweep hands each recipient's new notifications to
the queue as one task. The worker claims those rows (a claim token: two workers never
hold the same row, so an item is in one digest at a time) and puts each in the inbox
once, in one transaction (the inbox is exactly-once per notification, as without
digests, and never waits for e-mail); it sends one e-mail listing them grouped by
offering, then records each row ``sent``. Every statement after the claim names its
rows by id (primary key): a digest never locks another's rows. A worker killed
mid-digest leaves its rows claimed and ``queued``: the claim goes stale after 10
minutes and a sweep hands them over again, so no item is lost, and e-mail is
at-least-once (a digest sent just before the kill, not yet recorded, goes out again).
"""

from __future__ import annotations

import html
import logging
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.core import clock
from cms_cli.core.config import Config
from cms_cli.core.session import in_transaction, session_scope
from cms_cli.core.text import plural
from cms_cli.notify import events
from cms_cli.notify.delivery import (
    LIVE,
    STALE_CLAIM,
    Message,
    TryAgain,
    claim_token,
    compose_many,
    record,
    refused_for_good,
    retry_delay,
    send_email,
    to_inboxes,
    what_next,
)
from cms_cli.notify.models import Notification, NotificationStatus

log = logging.getLogger("cms.notify")


def claim_many(session: Session, ids: Sequence[int]) -> tuple[str, list[int]]:
    """Take the live, unheld rows among ``ids``; returns the claim token and their ids."""
    token = claim_token()
    now = clock.now()
    session.execute(
        sa.update(Notification)
        .where(
            col(Notification.id).in_(list(ids)),
            col(Notification.status).in_(LIVE),
            sa.or_(
                col(Notification.claim_token).is_(None),
                col(Notification.claimed_at) < now - STALE_CLAIM,
            ),
        )
        .values(claim_token=token, claimed_at=now)
    )
    claimed = session.exec(
        select(Notification.id)
        .where(col(Notification.id).in_(list(ids)), Notification.claim_token == token)
        .order_by(col(Notification.id))
    ).all()
    return token, [i for i in claimed if i is not None]


def release_many(ids: Sequence[int], config: Config) -> None:
    """Let go of the rows of an interrupted digest (its task is queued again)."""
    with session_scope(config) as session:
        session.execute(
            sa.update(Notification)
            .where(col(Notification.id).in_(list(ids)), col(Notification.status).in_(LIVE))
            .values(claim_token=None, claimed_at=None)
        )


def digest_message(messages: list[Message]) -> Message:
    """One message for one recipient: every item, grouped by offering."""
    first = messages[0]
    kinds = Counter(m.kind for m in messages)
    parts_ = [
        plural(kinds[kind], word)
        for kind, word in (
            ("reminder", "reminder"),
            ("escalation", "escalation"),
            ("attendance", "attendance alert"),
        )
        if kinds[kind]
    ]
    counts = parts_[0] if len(parts_) == 1 else ", ".join(parts_[:-1]) + " and " + parts_[-1]
    offerings: dict[int, list[Message]] = {}
    for message in messages:
        offerings.setdefault(message.offering_id, []).append(message)
    codes = sorted({m.heading.split(" ", 1)[0] for m in messages})
    where = ", ".join(codes[:3]) + (f" and {len(codes) - 3} more" if len(codes) > 3 else "")
    subject = f"{where}: {counts} for {plural(len(offerings), 'offering')}"
    verb = "needs" if len(messages) == 1 else "need"
    lines = [f"Hello {first.name},", "", f"{counts[0].upper()}{counts[1:]} {verb} your attention:"]
    parts = [f"<p>{html.escape(lines[0])}</p><p>{html.escape(lines[2])}</p>"]
    for items in offerings.values():
        lines += ["", items[0].heading]
        lines += [f"  - {m.line}" for m in items]
        commands = sorted({m.command for m in items})
        lines += [f"    {c}" for c in commands]
        parts.append(
            f"<h2>{html.escape(items[0].heading)}</h2><ul>"
            + "".join(f"<li>{html.escape(m.line)}</li>" for m in items)
            + "</ul>"
            + "".join(f"<p><code>{html.escape(c)}</code></p>" for c in commands)
        )
    text = "\n".join([*lines, "", "-- cms"]) + "\n"
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>"
        + "".join(parts)
        + "<p>-- cms</p></body></html>"
    )
    return Message(to=first.to, name=first.name, subject=subject, text=text, html=page)


def deliver_digest(ids: Sequence[int], config: Config) -> str:
    """Deliver ``ids`` (one recipient's) as one e-mail and one inbox item each.
    Returns "sent", "skipped" or "failed"; raises TryAgain when the worker's settings
    allow another attempt for some of them. Logs one line."""
    started = time.monotonic()

    def claiming(session: Session) -> tuple[str, list[int], dict[int, Message], dict[int, str]]:
        token, claimed = claim_many(session, ids)
        if not claimed:
            return token, [], {}, {}
        rows = session.exec(select(Notification).where(col(Notification.id).in_(claimed))).all()
        composed = compose_many(session, rows, config)
        if len({m.to for m in composed.values()}) == 1:  # else split below, then put there
            to_inboxes(session, composed)  # whatever becomes of the e-mail
        return token, claimed, composed, {row.id or 0: row.kind.value for row in rows}

    # Only database work: run again when MySQL picks it as a deadlock victim (a claim
    # that cannot be made is never a consumed task: queue._attempt retries it).
    token, claimed, messages, kinds = in_transaction(config, claiming)
    if not claimed:
        return "skipped"
    ordered = [messages[i] for i in claimed]
    recipients = {m.to for m in ordered}
    if len(recipients) != 1:  # a task is one recipient's; split if ever not
        for address in sorted(recipients):
            part = [i for i in claimed if messages[i].to == address]
            release_many(part, config)
            deliver_digest(part, config)
        return "sent"
    channels = ["inbox"]
    if config.settings.smtp_url:
        try:
            send_email(config, digest_message(ordered))
        except Exception as exc:
            return _digest_failed(config, claimed, token, kinds, ordered[0].to, exc, started)
        channels.insert(0, "e-mail")
    record(config, lambda session: _sent_all(session, claimed, token), f"digest of {claimed[0]}")
    duration = time.monotonic() - started
    log.info(
        "delivered digest of %s (%s) to %s by %s (%.2f s)",
        len(claimed),
        _ids(claimed),
        ordered[0].to,
        " and ".join(channels),
        duration,
        extra={
            "event": "digest",
            "notification": _ids(claimed),
            "recipient": ordered[0].to,
            "channels": channels,
            "outcome": "sent",
            "duration": round(duration, 3),
        },
    )
    for i in claimed:
        events.delivered(kinds[i], channels, "sent", duration / len(claimed))
    return "sent"


def _ids(ids: list[int]) -> str:
    """Ids for a log line: all of a few, or the first and the count of many."""
    if len(ids) <= 5:
        return ", ".join(map(str, ids))
    return f"{ids[0]}, {ids[1]}, ... {ids[-1]}: {len(ids)} in all"


def _digest_failed(
    config: Config,
    claimed: list[int],
    token: str,
    kinds: dict[int, str],
    to: str,
    exc: Exception,
    started: float,
) -> str:
    """A digest's e-mail not accepted: one attempt counted on each row (``failed`` at
    once when the mailbox refused it for good); TryAgain while some may try again."""
    reason = f"{type(exc).__name__}: {exc}"[:1000]
    permanent = refused_for_good(exc)
    left = in_transaction(
        config, lambda session: _failed_all(session, config, claimed, token, reason, permanent)
    )
    final = not left
    for i in claimed:
        events.delivered(kinds[i], ["e-mail"], "failed" if final else "retry", 0.0)
    then = what_next(permanent, final, retry_delay(config, left) if left else 0.0)
    log.warning(
        "digest of %s (%s) to %s: attempt failed (%s); %s",
        len(claimed),
        _ids(claimed),
        to,
        reason,
        then,
        extra={
            "event": "digest",
            "notification": _ids(claimed),
            "recipient": to,
            "outcome": "failed" if final else "retry",
            "reason": reason,
            "duration": round(time.monotonic() - started, 3),
        },
    )
    if final:
        return "failed"
    raise TryAgain(retry_delay(config, left)) from exc


def _sent_all(session: Session, ids: list[int], token: str) -> None:
    session.execute(
        sa.update(Notification)
        .where(col(Notification.id).in_(ids), col(Notification.claim_token) == token)
        .values(
            status=NotificationStatus.sent,
            attempts=Notification.attempts + 1,
            claim_token=None,
            claimed_at=None,
            last_error=None,
            sent_at=clock.now(),
        )
    )


def _failed_all(
    session: Session, config: Config, ids: list[int], token: str, reason: str, permanent: bool
) -> int:
    """Count a failed attempt on each row of the digest: those out of attempts (all of
    them when ``permanent``) become ``failed``, the others ``queued``. Returns the
    attempts made so far by the rows still to try (0 when none is), for the backoff."""
    limit = 0 if permanent else config.settings.delivery_attempts
    mine = (col(Notification.id).in_(ids), col(Notification.claim_token) == token)
    session.execute(
        sa.update(Notification)
        .where(*mine)
        .values(
            status=sa.case(
                (col(Notification.attempts) + 1 >= limit, NotificationStatus.failed.value),
                else_=NotificationStatus.queued.value,
            ),
            attempts=Notification.attempts + 1,
            last_error=reason,
        )
    )
    left: Any = session.execute(
        sa.select(sa.func.max(col(Notification.attempts))).where(
            *mine, col(Notification.status) == NotificationStatus.queued
        )
    ).scalar()
    session.execute(sa.update(Notification).where(*mine).values(claim_token=None, claimed_at=None))
    return int(left or 0)
