"""Onboarding without passwords in e-mails: invitation and reset codes.

`cms user invite` (a manager) and `cms auth forgot` (anyone) e-mail a person a one-time
code; `cms auth accept CODE` sets their own password with it. Nobody else ever types,
sees or transmits the password.

- A code is 16 characters of a 32-letter alphabet without look-alikes (80 bits), shown
  in four groups (``K7QD-M2XP-...``); it is read case-insensitively, with or without
  the dashes. Only its SHA-256 is stored (the code is random: no salt or bcrypt needed).
- It is used once (a conditional UPDATE: two accepts at once cannot both pass), and it
  expires after ``invite_hours`` (72). A new code replaces the person's unused codes of
  the same purpose.
- `auth forgot` answers the same whether or not the account exists, is throttled per
  address like logins (three requests in 15 minutes, then nothing more is sent for 15
  minutes, still with the same answer), and through `cms serve` per client address.
- The e-mails are sent after the transaction commits (an SMTP server that takes its
  time never holds a lock); a code whose e-mail failed is simply never used.
- Every step is audited: invite, forgot (only for an existing account), accept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import AccessCode, Role, User, require
from cms_cli.auth.public import Invited, Sent
from cms_cli.core import clock
from cms_cli.core.db import release_read, rowcount
from cms_cli.core.errors import NotAuthenticated, NotFound, Unavailable, ValidationError
from cms_cli.core.results import Account
from cms_cli.core.text import normalize_email

if TYPE_CHECKING:
    from cms_cli.core.config import Config
    from cms_cli.notify.delivery import Message

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 16
INVITE, RESET = "invite", "reset"
#: `auth forgot` requests per address within FORGOT_WINDOW before the next are ignored.
FORGOT_LIMIT = 3
#: `auth forgot` requests from one network address (`cms serve`) within the window
#: before its next are ignored. Counted apart from failed logins: a campus behind one
#: NAT address asking for resets never locks that address's logins.
FORGOT_SOURCE_LIMIT = 30
INVALID = "this code is not valid: unknown, used already, or expired"


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def code_hash(code: str) -> str:
    """The stored form of a code as typed (case, spaces and dashes do not matter)."""
    plain = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(plain.encode("ascii", "replace")).hexdigest()


def _mail_ready(config: Config, hint: str) -> None:
    if not config.settings.smtp_url:
        raise Unavailable(
            "e-mail is off (no CMS_SMTP_URL): codes are only ever sent by e-mail", hint=hint
        )


def _issue(session: Session, user: User, purpose: str, now: datetime, hours: int) -> str:
    """A new code for ``user``: the earlier unused ones of the same purpose go."""
    assert user.id is not None
    session.execute(
        sa.delete(AccessCode).where(
            col(AccessCode.user_id) == user.id,
            col(AccessCode.purpose) == purpose,
            col(AccessCode.used_at).is_(None),
        )
    )
    code = new_code()
    session.add(
        AccessCode(
            user_id=user.id,
            purpose=purpose,
            code_hash=code_hash(code),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return code


def _message(user: User, code: str, purpose: str, expires: datetime, config: Config) -> Message:
    from cms_cli.notify.delivery import Message, bodies

    local = expires.astimezone(config.tz)
    until = f"{local:%A %d %B %Y, %H:%M} ({config.settings.timezone})"
    server = config.settings.public_url or config.settings.server_url
    where = f"cms --server {server} auth accept {code}" if server else f"cms auth accept {code}"
    if purpose == INVITE:
        subject = "Your cms account: set your password"
        opening = [f"Hello {user.name},", "", "An account on cms was made for you."]
    else:
        subject = "cms: reset your password"
        opening = [
            f"Hello {user.name},",
            "",
            "Someone (you, we hope) asked to reset the password of your cms account.",
            "If it was not you, do nothing: your password stays as it is.",
        ]
    lines = [
        *opening,
        "",
        f"Your one-time code: {code}",
        f"It is valid until {until}, and once.",
        "",
        "To choose your password, run:",
        f"  {where}",
    ]
    text, html = bodies(subject, lines)
    return Message(to=user.email, name=user.name, subject=subject, text=text, html=html)


def _send_after_commit(
    session: Session, config: Config, messages: list[Message], *, quiet: bool = False
) -> None:
    """Send ``messages`` once the transaction has committed (never while it holds a
    lock). A failure is exit 7 naming who got their code and who did not (``quiet``:
    logged only, for `auth forgot`, whose answer must not depend on the account)."""
    if not messages:
        return
    from cms_cli.core.session import after_commit

    def send() -> None:
        import logging

        from cms_cli.notify.delivery import close_connections, send_email

        sent: list[str] = []
        try:
            for message in messages:
                send_email(config, message)
                sent.append(message.to)
        except Exception as exc:
            if quiet:
                logging.getLogger("cms.auth").warning(
                    "a reset code was not e-mailed (%s)", type(exc).__name__
                )
                return
            missed = [m.to for m in messages if m.to not in sent]
            said = f"; sent to {', '.join(sent)}" if sent else ""
            raise Unavailable(
                f"the mail server did not take the e-mail to {', '.join(missed[:5])} "
                f"({type(exc).__name__}: {str(exc)[:100]}){said}",
                hint=f"check cms doctor (smtp), then invite {', '.join(missed[:5])} again",
            ) from exc
        finally:
            close_connections()

    after_commit(session, send)


def invite(session: Session, actor: User, emails: list[str], *, config: Config) -> list[Invited]:
    """E-mail each account a one-time code to set its own password (managers). All or
    none: every address must be an active account."""
    require(actor, Role.manager)
    addresses = sorted({normalize_email(e) for e in emails})
    if not addresses:
        raise ValidationError("no e-mail given", hint="cms user invite EMAIL...")
    found = {
        u.email: u for u in session.exec(select(User).where(col(User.email).in_(addresses))).all()
    }
    unknown = [a for a in addresses if a not in found]
    if unknown:
        raise NotFound(
            f"no account with e-mail {', '.join(unknown[:10])}",
            hint="add them first: cms user add, or cms user import FILE.csv --invite",
        )
    inactive = [a for a in addresses if not found[a].is_active]
    if inactive:
        raise ValidationError(f"deactivated account(s): {', '.join(inactive[:10])}")
    _mail_ready(config, "configure smtp_url, or set the password yourself: cms user set-password")
    now = clock.now()
    hours = config.settings.invite_hours
    done, messages = [], []
    for address in addresses:
        user = found[address]
        code = _issue(session, user, INVITE, now, hours)
        expires = now + timedelta(hours=hours)
        messages.append(_message(user, code, INVITE, expires, config))
        audit.record(session, actor, "invite", "user", address, after={"expires_at": expires})
        done.append(Invited(email=address, expires_at=expires))
    _send_after_commit(session, config, messages)
    return done


def forgot(session: Session, email: str, *, config: Config, source: str | None = None) -> Sent:
    """Anyone: a reset code to the account's address, if it exists and is active; the
    same answer in every case."""
    from cms_cli.auth.service import _count_failure, _locked, _throttle

    _mail_ready(config, "ask a manager to set a new password (cms user set-password)")
    hours = config.settings.invite_hours
    answer = Sent(
        message=f"If an account exists for that address, a reset code was e-mailed to it "
        f"(valid {hours} h)."
    )
    try:
        address = normalize_email(email)
    except ValidationError:
        return answer
    now = clock.now()
    throttle = _throttle(session, f"forgot:{address}", now)
    # every request counts against the client, on its own count (not the logins')
    by_source = _throttle(session, f"forgot-source:{source}", now) if source else None
    if _locked(throttle, now) or _locked(by_source, now):
        return answer
    _count_failure(throttle, now, FORGOT_LIMIT)
    if by_source is not None:
        _count_failure(by_source, now, FORGOT_SOURCE_LIMIT)
    user = session.exec(select(User).where(User.email == address)).first()
    if user is None or not user.is_active:
        return answer
    code = _issue(session, user, RESET, now, hours)
    expires = now + timedelta(hours=hours)
    audit.record(session, None, "forgot", "user", address, after={"expires_at": expires})
    _send_after_commit(session, config, [_message(user, code, RESET, expires, config)], quiet=True)
    return answer


def may_accept(session: Session, _anyone: User | None, code: str) -> None:
    """The pre-check of `auth accept` (before the password is asked): a valid code."""
    row = session.exec(select(AccessCode).where(AccessCode.code_hash == code_hash(code))).first()
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        raise NotAuthenticated(
            INVALID, hint="ask for a new one: cms auth forgot --email E, or a manager's invite"
        )


def accept(session: Session, code: str, password: str, *, rounds: int = 12) -> Account:
    """Set the password of the code's account (anyone holding the code): the code is
    used up, the account's sessions end (a reset), a lock on it is lifted."""
    from cms_cli.auth.service import _revoke_all, _unlock, check_password, hash_password

    now = clock.now()
    key = code_hash(code)
    row = session.exec(select(AccessCode).where(AccessCode.code_hash == key)).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise NotAuthenticated(
            INVALID, hint="ask for a new one: cms auth forgot --email E, or a manager's invite"
        )
    user = session.get(User, row.user_id)
    assert user is not None
    if not user.is_active:
        raise NotAuthenticated("this account is deactivated", hint="ask a manager")
    check_password(password, user.email)
    release_read(session)  # bcrypt holds no lock
    hashed = hash_password(password, rounds)
    used = session.execute(
        sa.update(AccessCode)
        .where(col(AccessCode.id) == row.id, col(AccessCode.used_at).is_(None))
        .values(used_at=now)
    )
    if not rowcount(used):  # another accept took it meanwhile
        raise NotAuthenticated(INVALID)
    user = session.get(User, row.user_id, populate_existing=True)
    assert user is not None
    user.password_hash = hashed
    user.updated_at = now
    _revoke_all(session, user)
    _unlock(session, user.email)
    audit.record(session, user, "accept", "user", user.email, after={"purpose": row.purpose})
    return Account(email=user.email)
