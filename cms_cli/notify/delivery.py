"""Delivering one notification: claim it and put it in the in-app inbox (one
transaction: the inbox never waits for e-mail), send it by e-mail when SMTP is
configured, mark it sent. Idempotent: a sent row is never sent again, two workers never
hold the same row, and the inbox has one item per notification whatever happens.

A mailbox that refuses for good (a 5xx answer to the recipient or to the message)
fails that notification's e-mail at once; anything else is tried again on the worker's
backoff. Once an e-mail is accepted, recording it ``sent`` is retried through a
database outage (``record``) rather than counted as a failed attempt, which would
send it again."""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import smtplib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.auth.models import User
from cms_cli.catalog.models import ClassGroup, Cohort, Module
from cms_cli.core import clock
from cms_cli.core.config import Config
from cms_cli.core.db import rowcount
from cms_cli.core.session import in_transaction, session_scope
from cms_cli.core.text import neutralise, one_line, percent, plural, share
from cms_cli.notify import events
from cms_cli.notify.models import InboxItem, Kind, Notification, NotificationStatus
from cms_cli.offerings.models import Offering
from cms_cli.tracker import calendar
from cms_cli.tracker.calendar import Deadlines
from cms_cli.tracker.models import WeeklyLog

log = logging.getLogger("cms.notify")
STALE_CLAIM = timedelta(minutes=10)
LIVE = (NotificationStatus.pending, NotificationStatus.queued)


class TryAgain(Exception):
    """This delivery failed and the worker's settings allow another attempt later."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"try again in {delay:g} s")
        self.delay = delay


def refused_for_good(exc: BaseException) -> bool:
    """True when the mail server refused this recipient or this message permanently
    (RFC 5321: a 5yz reply to RCPT or DATA): trying again would be refused again. A
    refused sender, a 4yz reply or a connection that failed may pass."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return 500 <= exc.smtp_code < 600
    return False


#: Pauses between tries to record an accepted e-mail while the database is away: about
#: two minutes in all, then the row stays claimed (a sweep hands it over after
#: STALE_CLAIM, and that e-mail may go out twice: the documented at-least-once).
RECORD_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


def record(config: Config, work: Callable[[Session], None], what: Any) -> None:
    """``work`` (the bookkeeping after an accepted e-mail) in a transaction, run again
    through deadlocks (in_transaction) and through a database that is away for a while:
    the e-mail is never sent twice for a failure of what comes after it."""
    from cms_cli.core.db import passes

    for pause in (*RECORD_PAUSES, None):
        try:
            in_transaction(config, work)
            return
        except sa.exc.DBAPIError as exc:
            if pause is None or not passes(exc):
                raise
            log.warning(
                "sent %s, but not recorded yet (%s); trying again in %g s",
                what,
                type(exc).__name__,
                pause,
                extra={"event": "record", "notification": what, "outcome": "retry"},
            )
            time.sleep(pause)


def what_next(permanent: bool, final: bool, delay: float) -> str:
    """The end of a failed attempt's log line: why no more, or when the next."""
    if permanent:
        return "refused for good"
    return "no attempt left" if final else f"next attempt in {delay:g} s"


def retry_delay(config: Config, attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: retry_seconds, doubled each time."""
    return float(config.settings.retry_seconds * 2 ** (attempts - 1))


@dataclass(frozen=True, kw_only=True)
class Message:
    to: str
    name: str
    subject: str
    text: str
    html: str
    #: For a digest: its kind ("reminder", "escalation", "attendance"), the offering it
    #: is about, its heading, this notification in a line and the command that acts on it.
    kind: str = ""
    offering_id: int = 0
    heading: str = ""
    line: str = ""
    command: str = ""


def worker_name() -> str:
    """This process as its heartbeat names it: ``host:pid``."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def tag_of(name: str) -> str:
    """The 8 characters that begin every claim a worker named ``name`` makes: a dead
    worker's claims are found by them (notify.worker.release_dead) and let go at once."""
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()[:8]


def claim_token() -> str:
    """A new claim's token (32 characters): this worker's tag, then 24 random ones."""
    return tag_of(worker_name()) + secrets.token_hex(12)


def claim(session: Session, notification_id: int) -> str | None:
    """Take the row for this delivery; None when it is sent, failed or held elsewhere."""
    token = claim_token()
    now = clock.now()
    result = session.execute(
        sa.update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.status).in_(LIVE),
            sa.or_(
                col(Notification.claim_token).is_(None),
                col(Notification.claimed_at) < now - STALE_CLAIM,
            ),
        )
        .values(claim_token=token, claimed_at=now)
    )
    return token if rowcount(result) else None


def release(notification_id: int, config: Config) -> None:
    """Let go of a row whose delivery was interrupted (the task is queued again)."""
    with session_scope(config) as session:
        session.execute(
            sa.update(Notification)
            .where(col(Notification.id) == notification_id, col(Notification.status).in_(LIVE))
            .values(claim_token=None, claimed_at=None)
        )


@functools.cache
def _context_query(many: bool = False) -> Any:
    """Everything a message names, in one statement (built once: a worker runs it often);
    ``many``: for a list of notifications (a digest), each row led by its id."""
    recipient_t = sa.orm.aliased(User)
    facilitator_t = sa.orm.aliased(User)
    student_t = sa.orm.aliased(User)
    wanted = (
        col(Notification.id).in_(sa.bindparam("ids", expanding=True))
        if many
        else col(Notification.id) == sa.bindparam("notification_id")
    )
    lead = (col(Notification.id),) if many else ()
    return (
        sa.select(
            *lead,
            Offering,
            Module,
            ClassGroup,
            Cohort,
            recipient_t,
            facilitator_t,
            WeeklyLog,
            student_t,
        )
        .select_from(Notification)
        .join(Offering, col(Offering.id) == Notification.offering_id)
        .join(Module, col(Module.id) == Offering.module_id)
        .join(ClassGroup, col(ClassGroup.id) == Offering.class_id)
        .join(Cohort, col(Cohort.id) == Offering.cohort_id)
        .join(recipient_t, col(recipient_t.id) == Notification.recipient_id)
        .outerjoin(facilitator_t, col(facilitator_t.id) == Offering.facilitator_id)
        .outerjoin(
            WeeklyLog,
            sa.and_(
                col(WeeklyLog.offering_id) == Offering.id,
                col(WeeklyLog.week) == Notification.week,
            ),
        )
        # An attendance notification's student (0, so no one, for the other kinds).
        .outerjoin(student_t, col(student_t.id) == Notification.student_id)
        .where(wanted)
    )


#: What each activity is called in a message.
ACTIVITY_WORDS = {
    "formative_one_grading": "formative one grading",
    "formative_two_grading": "formative two grading",
    "summative_grading": "summative grading",
    "course_moderation": "course moderation",
    "intranet_sync": "intranet sync",
    "grade_book_status": "grade book",
}


def log_state(entry: WeeklyLog | None) -> tuple[str, str]:
    """(short, long) wording of a week's log: "not logged", or "incomplete" with what
    is still to do, e.g. "incomplete (43%: still to do: summative grading, grade book)"."""
    if entry is None:
        return "not logged", "has not been logged"
    todo = [word for name, word in ACTIVITY_WORDS.items() if _status(entry, name) != "done"]
    if not entry.attendance_taken:
        todo.append("attendance")
    return (
        "incomplete",
        f"is incomplete ({percent(entry.completion)}: still to do: {', '.join(todo)})",
    )


def _status(entry: WeeklyLog, name: str) -> str:
    value = getattr(entry, name)
    return str(getattr(value, "value", value))


def compose(
    session: Session, notification: Notification, config: Config, context: Any = None
) -> Message:
    """Subject and body naming the offering, the week, its state and the deadline
    (``context``: the row of ``_context_query`` when the caller read it already)."""
    row = context
    if row is None:
        row = session.execute(_context_query(), {"notification_id": notification.id}).one()
    offering, module, group, cohort, recipient, facilitator, entry, _ = row
    if notification.kind is Kind.attendance:
        return _attendance_message(session, notification, config, row)
    week = notification.week
    first, last = (
        calendar.week_start(offering.start_date, week),
        calendar.week_end(offering.start_date, week),
    )
    what = (
        f"{module.code} {module.name}, class {group.code}, cohort {cohort.name} "
        f"(offering {offering.id})"
    )
    short, state = log_state(entry)
    deadline = Deadlines.of(config).in_words(offering.start_date, week)
    command = f"cms tracker log --offering {offering.id} --week {week}"
    overdue = "overdue" if entry is None else "incomplete"
    if notification.kind is Kind.reminder:
        subject = (
            f"{module.code} week {week}: your weekly log is {overdue} (offering {offering.id})"
        )
        lines = [
            f"Hello {recipient.name},",
            "",
            f"The activity log for week {week} ({first} to {last}) of {what} {state}.",
            f"It was {deadline}.",
            "",
            f"Log it with:  {command}",
        ]
    else:
        holder = (
            f"{facilitator.name} <{facilitator.email}>"
            if facilitator
            else "no facilitator (none is assigned)"
        )
        behind = facilitator.name if facilitator else "no facilitator"
        subject = f"{module.code} week {week}: log still {short} ({behind}, offering {offering.id})"
        lines = [
            f"Hello {recipient.name},",
            "",
            f"The activity log for week {week} ({first} to {last}) of {what} {state}.",
            f"It was {deadline}. Facilitator: {holder}.",
            "",
            f"See it with:  cms tracker list --offering {offering.id} --status overdue",
        ]
    text, page = _bodies(subject, lines)
    word = "Reminder" if notification.kind is Kind.reminder else "Escalation"
    by = "" if notification.kind is Kind.reminder else f" Facilitator: {holder}."
    line = neutralise(f"{word}: week {week} ({first} to {last}) {state}; it was {deadline}.{by}")
    acting = (
        command
        if notification.kind is Kind.reminder
        else f"cms tracker list --offering {offering.id} --status overdue"
    )
    return Message(
        to=recipient.email,
        name=recipient.name,
        subject=neutralise(subject),
        text=text,
        html=page,
        kind=notification.kind.value,
        offering_id=offering.id or 0,
        heading=neutralise(what),
        line=line,
        command=acting,
    )


def _bodies(subject: str, lines: list[str]) -> tuple[str, str]:
    """A message's plain text and HTML from its lines (each neutralised: names stored
    before input was checked), signed "-- cms"."""
    import html

    shown = [neutralise(line) for line in lines]
    text = "\n".join([*shown, "", "-- cms"]) + "\n"
    body = "".join(f"<p>{html.escape(line)}</p>" for line in shown if line)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(neutralise(subject))}</title></head>"
        f"<body>{body}<p>-- cms</p></body></html>"
    )
    return text, page


#: For other capabilities' mail (auth.codes): the same text and HTML as every cms mail.
bodies = _bodies


def _attendance_message(
    session: Session, notification: Notification, config: Config, row: Any
) -> Message:
    """A student at risk: who, in which offering, why, and their attendance now."""
    from cms_cli.tracker.attendance import AttendanceFilters, attendance

    offering, module, group, cohort, recipient, facilitator, _, student = row
    what = (
        f"{module.code} {module.name}, class {group.code}, cohort {cohort.name} "
        f"(offering {offering.id})"
    )
    settings = config.settings
    why = (
        f"attends under {percent(settings.attendance_alert_pct)}"
        if notification.reason == "rate"
        else f"has missed {settings.attendance_alert_run} or more weeks in a row"
    )
    name = student.name if student else "A student no longer in cms"
    found = (
        attendance(
            session,
            recipient,  # the offering's facilitator or manager: both may read it
            AttendanceFilters(ids=[offering.id], include_cancelled=True, student=student.email),
            today=clock.today(config.tz),
        )
        if student
        else []
    )
    # from the counts, as every screen says it (the stored rate has one decimal)
    rate_text = (
        share(found[0].present, found[0].weeks_recorded, none="no rate yet") if found else ""
    )
    now = (
        f"So far: present {found[0].present} of "
        f"{plural(found[0].weeks_recorded, 'recorded week')} ({rate_text}), "
        f"{found[0].absent_run} missed in a row, last attended week "
        f"{found[0].last_present_week or 'none'}."
        if found
        else "Their attendance can no longer be read here (no longer enrolled?)."
    )
    told = (
        [f"Their facilitator, {facilitator.name} <{facilitator.email}>, was told first."]
        if facilitator is not None and recipient.id != facilitator.id
        else []
    )
    command = f"cms tracker attendance --offering {offering.id}" + (
        f" --student {student.email}" if student else ""
    )
    short = (
        f"under {percent(settings.attendance_alert_pct)}"
        if notification.reason == "rate"
        else f"{settings.attendance_alert_run}+ weeks missed"
    )
    subject = f"Attendance: {name} in {module.code} (offering {offering.id}), {short}"
    who = f"{name} <{student.email}>" if student else name
    lines = [
        f"Hello {recipient.name},",
        "",
        f"{who} {why} in {what}.",
        now,
        *told,
        "",
        f"See it with:  {command}",
    ]
    text, page = _bodies(subject, lines)
    return Message(
        to=recipient.email,
        name=recipient.name,
        subject=neutralise(subject),
        text=text,
        html=page,
        kind=Kind.attendance.value,
        offering_id=offering.id or 0,
        heading=neutralise(what),
        line=neutralise(f"Attendance: {who} {why}. {now}"),
        command=command,
    )


#: An SMTP connection is reused by its thread for this many messages, unless it has been
#: idle this long (servers drop idle clients after a few minutes; RFC 5321 says 5).
REUSE_MESSAGES = 100
REUSE_IDLE_SECONDS = 60.0


@dataclass(kw_only=True)
class _Held:
    client: smtplib.SMTP
    url: str
    sent: int
    used_at: float


_held: dict[int, _Held] = {}  # thread id -> its connection
_held_lock = threading.Lock()


def _connection(url: str) -> tuple[smtplib.SMTP, bool]:
    """This thread's connection to ``url``, and whether it was opened just now."""
    from cms_cli.notify import smtp

    held = _held.get(threading.get_ident())
    if held is not None:
        if (
            held.url == url
            and held.sent < REUSE_MESSAGES
            and time.monotonic() - held.used_at < REUSE_IDLE_SECONDS
        ):
            return held.client, False
        _hang_up()
    client = smtp.connect(url, timeout=30)
    with _held_lock:
        _held[threading.get_ident()] = _Held(
            client=client, url=url, sent=0, used_at=time.monotonic()
        )
    return client, True


def _hang_up(ident: int | None = None, *, polite: bool = True) -> None:
    with _held_lock:
        held = _held.pop(threading.get_ident() if ident is None else ident, None)
    if held is not None:
        with contextlib.suppress(Exception):  # it may be gone already
            if polite:
                held.client.quit()
            else:
                held.client.close()


def close_connections() -> None:
    """QUIT every SMTP connection held (the worker calls this when it stops)."""
    for ident in list(_held):
        _hang_up(ident)


def recipient_header(name: str, address: str) -> Address:
    """The ``To:`` of a message: the account's address, its name only as a display name.

    Built by the ``email`` package, which quotes what needs quoting, so a name such as
    ``Ana, Spy <spy@evil.example>`` stays a name and never adds a recipient; control
    characters (a name stored before input was checked) become spaces.
    """
    shown = one_line(name)
    local, _, domain = address.rpartition("@")
    return Address(display_name=shown, username=local, domain=domain)


def _sender_domain(config: Config) -> str:
    """The domain of mail_from (for Message-ID), or localhost."""
    address = parseaddr(config.settings.mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


def send_email(config: Config, message: Message) -> None:
    """Send through this thread's SMTP connection (opened, or reused while fresh), to the
    account's address only: the envelope recipient is given, never read from headers."""
    email = EmailMessage()
    email["From"] = config.settings.mail_from
    email["To"] = recipient_header(message.name, message.to)
    email["Subject"] = message.subject
    email["Date"] = format_datetime(clock.now())
    email["Message-ID"] = make_msgid("cms", domain=_sender_domain(config))
    # RFC 3834: sent by a program; out-of-office replies and loops leave it alone.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    url = config.settings.smtp_url or ""
    client, fresh = _connection(url)
    try:
        try:
            client.send_message(email, to_addrs=[message.to])
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            if fresh:
                raise
            # A reused connection the server had closed meanwhile: once more, on a new one.
            _hang_up(polite=False)
            client, _ = _connection(url)
            client.send_message(email, to_addrs=[message.to])
    except BaseException:
        _hang_up(polite=False)  # a connection that failed is not kept
        raise
    held = _held[threading.get_ident()]
    held.sent += 1
    held.used_at = time.monotonic()


def deliver(notification_id: int, config: Config) -> str:
    """Deliver one notification. Returns "sent", "skipped" or "failed"; raises TryAgain
    when the worker's settings allow another attempt. Logs one line per attempt."""
    started = time.monotonic()

    def claiming(session: Session) -> tuple[str | None, str, int, Message | None]:
        token = claim(session, notification_id)
        if token is None:
            return None, "", 0, None
        notification = session.get(Notification, notification_id)
        assert notification is not None
        composed = compose(session, notification, config)
        _to_inbox(session, notification_id, composed)  # whatever becomes of the e-mail
        return token, notification.kind.value, notification.attempts + 1, composed

    # Only database work: run again when MySQL picks it as a deadlock victim.
    token, kind, attempt, composed = in_transaction(config, claiming)
    if token is None or composed is None:
        return "skipped"
    message = composed
    channels = ["inbox"]
    fields: dict[str, Any] = {
        "event": "delivery",
        "notification": notification_id,
        "kind": kind,
        "recipient": message.to,
        "attempt": attempt,
    }
    if config.settings.smtp_url:
        try:
            send_email(config, message)
        except Exception as exc:
            return _failed(config, notification_id, token, kind, message, exc, fields, started)
        channels.insert(0, "e-mail")
    record(
        config,
        lambda session: _finish(session, notification_id, token, NotificationStatus.sent, None),
        notification_id,
    )
    duration = time.monotonic() - started
    log.info(
        "delivered %s %s to %s by %s (attempt %s, %.2f s)",
        kind,
        notification_id,
        message.to,
        " and ".join(channels),
        attempt,
        duration,
        extra={
            **fields,
            "channels": channels,
            "outcome": "sent",
            "duration": round(duration, 3),
        },
    )
    events.delivered(kind, channels, "sent", duration)
    return "sent"


def _failed(
    config: Config,
    notification_id: int,
    token: str,
    kind: str,
    message: Message,
    exc: Exception,
    fields: dict[str, Any],
    started: float,
) -> str:
    """An e-mail that was not accepted: one attempt counted; ``failed`` when none is
    left or the mailbox refused it for good, else TryAgain on the worker's backoff."""
    reason = f"{type(exc).__name__}: {exc}"[:1000]
    permanent = refused_for_good(exc)

    def counting(session: Session) -> tuple[int, bool]:
        attempts = _attempts(session, notification_id) + 1
        final = permanent or attempts >= config.settings.delivery_attempts
        status = NotificationStatus.failed if final else NotificationStatus.queued
        _finish(session, notification_id, token, status, reason)
        return attempts, final

    attempts, final = in_transaction(config, counting)
    outcome = "failed" if final else "retry"
    delay = 0.0 if final else retry_delay(config, attempts)
    then = what_next(permanent, final, delay)
    log.warning(
        "%s %s to %s: attempt %s failed (%s); %s",
        kind,
        notification_id,
        message.to,
        attempts,
        reason,
        then,
        extra={
            **fields,
            "attempt": attempts,
            "outcome": outcome,
            "reason": reason,
            "duration": round(time.monotonic() - started, 3),
        },
    )
    events.delivered(kind, ["e-mail"], outcome, time.monotonic() - started)
    if final:
        return "failed"
    raise TryAgain(delay) from exc


def _attempts(session: Session, notification_id: int) -> int:
    row = session.get(Notification, notification_id)
    return row.attempts if row else 0


def compose_many(
    session: Session, notifications: Sequence[Notification], config: Config
) -> dict[int, Message]:
    """The message of each notification, their context read in one statement."""
    ids = [n.id for n in notifications]
    rows = {r[0]: r[1:] for r in session.execute(_context_query(True), {"ids": ids}).all()}
    return {n.id or 0: compose(session, n, config, rows[n.id]) for n in notifications}


def _to_inbox(session: Session, notification_id: int, message: Message) -> None:
    to_inboxes(session, {notification_id: message})


def to_inboxes(session: Session, messages: dict[int, Message]) -> None:
    """One inbox item per notification, never two (those already there are skipped),
    in a constant number of statements."""
    ids = list(messages)
    there = set(
        session.exec(
            select(InboxItem.notification_id).where(col(InboxItem.notification_id).in_(ids))
        ).all()
    )
    owners = dict(
        session.execute(
            sa.select(col(Notification.id), col(Notification.recipient_id)).where(
                col(Notification.id).in_(ids)
            )
        ).all()
    )
    now = clock.now()
    session.add_all(
        [
            InboxItem(
                user_id=owners[i],
                notification_id=i,
                subject=messages[i].subject[:300],
                body=messages[i].text,
                created_at=now,
            )
            for i in ids
            if i not in there
        ]
    )


def _finish(
    session: Session,
    notification_id: int,
    token: str,
    status: NotificationStatus,
    error: str | None,
) -> Any:
    values: dict[str, Any] = {
        "status": status,
        "attempts": Notification.attempts + 1,
        "claim_token": None,
        "claimed_at": None,
        "last_error": error,
    }
    if status is NotificationStatus.sent:
        values["sent_at"] = clock.now()
    return session.execute(
        sa.update(Notification)
        .where(col(Notification.id) == notification_id, col(Notification.claim_token) == token)
        .values(**values)
    )
