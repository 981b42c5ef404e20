"""Accounts, passwords, sessions, lockout and the RBAC helpers other capabilities call.

Services take a Session and the acting user, return models or plain data, raise
CmsError subclasses, and never commit: the caller's session scope does.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import bcrypt
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import (
    AccessCode,
    AuthSession,
    LoginThrottle,
    Role,
    User,
    UserPublic,
    require,
)
from cms_cli.auth.public import SessionPublic, SignedIn
from cms_cli.core import clock, limits, text
from cms_cli.core.db import insert_or_lock, release_read, table_of
from cms_cli.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    ValidationError,
)
from cms_cli.core.results import Account, Standing
from cms_cli.core.session import again_on_deadlock
from cms_cli.core.text import normalize_email as normalize_email

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from cms_cli.core.csvfile import ImportReport, Problems

LOCK_FAILURES = 5
LOCK_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
MIN_PASSWORD = 8
#: What bcrypt reads of a password.
MAX_PASSWORD_BYTES = 72
#: How far ahead of the reading clock a session's issue time may be (hosts' clocks
#: differ by seconds); beyond it the session was minted under a moved clock.
CLOCK_SKEW = timedelta(minutes=5)
BAD_CREDENTIALS = "wrong e-mail or password"

# What a password is compared against when there is no hash to compare with (unknown
# e-mail, no password set, a locked address): a well-formed bcrypt hash of the
# configured cost, so that every answer costs one bcrypt check like a real account's
# (no account enumeration by timing). checkpw only reads the cost and the salt of it,
# so it is written out rather than computed: computing it would cost a second bcrypt
# run in the process that needs it first (a fresh `cms auth login`).
_DUMMY_SALT_AND_HASH = b"Ro0CUfOqk6cXEKf3dyaM7OhSCvnwM9s4wIX9JeLapehKK5YdLxKcm"


def _dummy_hash(rounds: int) -> bytes:
    return b"$2b$%02d$" % rounds + _DUMMY_SALT_AND_HASH


# -- values ---------------------------------------------------------------------------


def _secret(password: str) -> bytes:
    """A password's bytes for bcrypt: UTF-8, a lone surrogate (which UTF-8 cannot hold)
    kept as its code unit, so such a password is a wrong one like any other, never an
    internal error; check_password refuses to store one."""
    return password.encode("utf-8", "surrogatepass")


def check_password(password: str, email: str) -> None:
    from cms_cli.core.text import refuse_surrogates

    refuse_surrogates(password, "the password")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(_secret(password)) > MAX_PASSWORD_BYTES:
        raise ValidationError(f"the password must not be longer than {MAX_PASSWORD_BYTES} bytes")
    if password.strip().lower() == email.strip().lower():
        raise ValidationError("the password must not be the e-mail address")


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(_secret(password), bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, hashed: str | None, *, rounds: int = 12) -> bool:
    """True when ``password`` matches ``hashed``. With no hash (unknown account, no
    password set, a locked address), one check against a dummy hash of the same cost is
    made all the same, so every answer takes as long."""
    given = _secret(password)
    if len(given) > MAX_PASSWORD_BYTES:
        # Never a stored password (check_password refuses them): a wrong one, at the
        # same cost as any other answer (bcrypt reads at most 72 bytes; newer releases
        # refuse more outright, which would answer differently).
        bcrypt.checkpw(
            given[:MAX_PASSWORD_BYTES], hashed.encode() if hashed else _dummy_hash(rounds)
        )
        return False
    if hashed is None:
        bcrypt.checkpw(given, _dummy_hash(rounds))
        return False
    try:
        return bcrypt.checkpw(given, hashed.encode())
    except ValueError:
        return False


def _cost(hashed: str | None) -> int | None:
    """The work factor a bcrypt hash was made with (``$2b$12$...``: 12)."""
    parts = (hashed or "").split("$")
    return int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def public(user: User) -> UserPublic:
    """An account as shown (no hash, no lock internals)."""
    return UserPublic.model_validate(user, from_attributes=True)


# -- RBAC -----------------------------------------------------------------------------


def get_user(session: Session, email: str) -> User:
    address = normalize_email(email)
    user = session.exec(select(User).where(User.email == address)).first()
    if user is None:
        raise NotFound(f"no account with e-mail {address}")
    return user


def managed_account(session: Session, actor: User, email: str) -> User:
    """The account a manager is about to change: PermissionDenied (exit 5) for anyone
    else, NotFound (exit 3) when there is none. Checked before a confirmation or a
    password is asked."""
    require(actor, Role.manager)
    return get_user(session, email)


def may_set_active(session: Session, actor: User, email: str, active: bool) -> User:
    """The account a manager is about to (de)activate: managed_account's checks, and
    one's own account is never deactivated (checked before the confirmation)."""
    user = managed_account(session, actor, email)
    if not active and user.id == actor.id:
        raise ValidationError("you cannot deactivate your own account")
    return user


def may_change_password(session: Session, user: User) -> None:
    """Anyone signed in may change their own password (the current one is checked when
    the new one is set): the pre-check before the passwords are asked."""


def may_manage(session: Session, actor: User) -> None:
    """Only managers manage accounts (an import's check, before its file is read)."""
    require(actor, Role.manager)


# -- accounts -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NewUser:
    email: str
    name: str
    role: Role
    employee_id: str | None = None
    student_id: str | None = None


def _validated(data: NewUser) -> NewUser:
    email = normalize_email(data.email)
    name = text.single_line(data.name, "name", max_length=limits.PERSON_NAME)
    assert name is not None  # min_length 1: blank is refused
    employee_id = text.single_line(
        data.employee_id, "employee id", max_length=limits.PERSON_ID, min_length=0
    )
    student_id = text.single_line(
        data.student_id, "student id", max_length=limits.PERSON_ID, min_length=0
    )
    if student_id and data.role is not Role.student:
        raise ValidationError("only students have a student id")
    if employee_id and data.role is Role.student:
        raise ValidationError("students have no employee id")
    return NewUser(
        email=email, name=name, role=data.role, employee_id=employee_id, student_id=student_id
    )


def _new_user(data: NewUser, password: str | None, rounds: int) -> User:
    now = clock.now()
    if password is not None:
        check_password(password, data.email)
    return User(
        email=data.email,
        name=data.name,
        role=data.role,
        employee_id=data.employee_id,
        student_id=data.student_id,
        password_hash=hash_password(password, rounds) if password is not None else None,
        created_at=now,
        updated_at=now,
    )


def _duplicate_of(session: Session, data: NewUser) -> str | None:
    """What an existing account already uses of ``data`` (for a clear conflict message)."""
    checks = (
        ("e-mail", User.email, data.email),
        ("employee id", User.employee_id, data.employee_id),
        ("student id", User.student_id, data.student_id),
    )
    for label, column, value in checks:
        if value is not None and session.exec(select(User.id).where(column == value)).first():
            return f"an account with {label} {value} already exists"
    return None


def _insert(session: Session, user: User, data: NewUser) -> User:
    """Insert relying on the unique constraints; a violation becomes Conflict (exit 6)."""
    try:
        session.add(user)
        session.flush()
    except sa.exc.IntegrityError as exc:
        session.rollback()  # the command fails as a whole; nothing of it is kept
        raise Conflict(_duplicate_of(session, data) or "that account already exists") from exc
    return user


def bootstrap(session: Session, data: NewUser, password: str, *, rounds: int = 12) -> User:
    """Create the very first account, a manager. Conflict once any account exists."""
    if data.role is not Role.manager:
        raise ValidationError("the first account is a manager")
    if session.exec(select(func.count()).select_from(User)).one() > 0:
        raise Conflict(
            "accounts exist already: bootstrap only creates the first one",
            hint="log in as a manager and use cms user add",
        )
    valid = _validated(data)
    user = _insert(session, _new_user(valid, password, rounds), valid)
    audit.record(session, None, "bootstrap", "user", user.email, after=public(user))
    return user


def add_user(
    session: Session, actor: User, data: NewUser, password: str | None, *, rounds: int = 12
) -> User:
    require(actor, Role.manager)
    valid = _validated(data)
    user = _insert(session, _new_user(valid, password, rounds), valid)
    audit.record(session, actor, "create", "user", user.email, after=public(user))
    return user


def add_account(
    session: Session,
    actor: User,
    email: str,
    name: str,
    role: Role,
    employee_id: str | None = None,
    student_id: str | None = None,
    password: str | None = None,
    *,
    rounds: int = 12,
) -> User:
    """`user add`: a new account (managers), with a password or none yet."""
    data = NewUser(
        email=email, name=name, role=role, employee_id=employee_id, student_id=student_id
    )
    return add_user(session, actor, data, password, rounds=rounds)


def import_file(
    session: Session,
    actor: User,
    file: Path,
    name: str | None = None,
    dry_run: bool = False,
    *,
    rounds: int = 12,
    progress: Callable[[float], None] | None = None,
) -> ImportReport:
    """`user import` of a CSV file: the role first, then every row (import_users)."""
    from cms_cli.auth.public import IMPORT_COLUMNS
    from cms_cli.core.csvfile import import_csv

    may_manage(session, actor)
    return import_csv(
        file,
        name,
        IMPORT_COLUMNS,
        lambda rows, tick: import_users(session, actor, rows, dry_run=dry_run, rounds=rounds),
        progress,
    )


def import_users(
    session: Session,
    actor: User,
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    dry_run: bool = False,
    rounds: int = 12,
) -> ImportReport:
    """All rows or none. ``rows`` are (physical line, columns), streamed in chunks:
    each chunk checked (against the file so far and the database) and, while no problem
    has been found and this is not a dry run, inserted; any problem rolls back all."""
    from cms_cli.core.csvfile import ImportReport, Rows, run_import

    require(actor, Role.manager)
    seen: dict[tuple[str, str], int] = {}

    def check(chunk: Rows, problems: Problems) -> list[NewUser]:
        return _check_users(session, chunk, problems, seen)

    def write(valid: list[NewUser]) -> int:
        session.add_all([_new_user(d, None, rounds) for d in valid])
        session.flush()
        session.expunge_all()  # what is written need not stay in memory
        return len(valid)

    checked, created = run_import(
        rows, size=IMPORT_CHUNK, check=check, write=write, dry_run=dry_run
    )
    if not dry_run:
        audit.record(session, actor, "import", "user", None, after={"created": created})
    return ImportReport(created=created, checked=checked, dry_run=dry_run)


IMPORT_CHUNK = 1_000


def _check_users(
    session: Session,
    rows: Sequence[tuple[int, dict[str, str]]],
    problems: Problems,
    seen: dict[tuple[str, str], int],
) -> list[NewUser]:
    """The valid accounts of a chunk; each problem is added in line order."""
    found: list[tuple[int, str]] = []
    valid: list[tuple[int, NewUser]] = []
    for line, row in rows:
        try:
            role_text = (row.get("role") or "").strip().lower()
            try:
                role = Role(role_text)
            except ValueError:
                raise ValidationError(
                    f"role must be manager, facilitator or student, not '{text.shorten(role_text)}'"
                ) from None
            data = _validated(
                NewUser(
                    email=row.get("email") or "",
                    name=row.get("name") or "",
                    role=role,
                    employee_id=row.get("employee_id"),
                    student_id=row.get("student_id"),
                )
            )
        except ValidationError as exc:
            found.append((line, exc.message))
            continue
        duplicate = False
        for label, value in _identities(data):
            first = seen.setdefault((label, value), line)
            if first != line:
                found.append((line, f"{label} {value} also on line {first}"))
                duplicate = True
        if not duplicate:
            valid.append((line, data))
    existing = _existing_identities(session, [d for _, d in valid])
    accepted: list[NewUser] = []
    for line, data in valid:
        clash = [(lb, v) for lb, v in _identities(data) if (lb, v) in existing]
        for label, value in clash:
            found.append((line, f"an account with {label} {value} already exists"))
        if not clash:
            accepted.append(data)
    problems.extend(found)
    return accepted


def _identities(data: NewUser) -> list[tuple[str, str]]:
    """What must be unique about an account: (label, value) pairs."""
    pairs = (
        ("e-mail", data.email),
        ("employee id", data.employee_id),
        ("student id", data.student_id),
    )
    return [(label, value) for label, value in pairs if value is not None]


def _existing_identities(session: Session, data: Iterable[NewUser]) -> set[tuple[str, str]]:
    items = list(data)
    found: set[tuple[str, str]] = set()
    for label, column, values in (
        ("e-mail", User.email, {d.email for d in items}),
        ("employee id", User.employee_id, {d.employee_id for d in items if d.employee_id}),
        ("student id", User.student_id, {d.student_id for d in items if d.student_id}),
    ):
        chunk = sorted(v for v in values if v)
        for start in range(0, len(chunk), 500):
            part = chunk[start : start + 500]
            for value in session.exec(select(column).where(col(column).in_(part))).all():
                found.add((label, str(value)))
    return found


def list_users(
    session: Session, actor: User, *, role: Role | None = None, active: bool | None = None
) -> list[UserPublic]:
    require(actor, Role.manager)
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.is_active == active)
    return [public(u) for u in session.exec(query.order_by(col(User.email))).all()]


def set_password(
    session: Session, actor: User, email: str, password: str, *, rounds: int = 12
) -> User:
    """A manager sets another account's password; the account's sessions end."""
    require(actor, Role.manager)
    user = get_user(session, email)
    check_password(password, user.email)
    user.password_hash = hash_password(password, rounds)
    user.updated_at = clock.now()
    _unlock(session, user.email)
    _revoke_all(session, user)
    forget_codes(session, user.id)  # an invitation e-mailed before must not undo it
    audit.record(session, actor, "set-password", "user", user.email)
    return user


def set_active(session: Session, actor: User, email: str, active: bool) -> Standing:
    """Activate or deactivate; deactivation revokes every session. ``changed`` is False
    when the account was so already."""
    user = may_set_active(session, actor, email, active)
    if user.is_active == active:
        return Standing(name=user.email, changed=False)
    if not active and user.role is Role.manager:
        # Every active manager's row locked, in one order, then counted: two managers
        # deactivating each other at once cannot both pass (the second counts again).
        managers = session.exec(
            select(User.id)
            .where(User.role == Role.manager, col(User.is_active).is_(True))
            .order_by(col(User.id))
            .with_for_update()
        ).all()
        if len(managers) <= 1:
            raise Conflict(
                f"{user.email} is the last active manager: it cannot be deactivated",
                hint="make another account a manager first",
            )
    before = public(user)
    user.is_active = active
    user.updated_at = clock.now()
    if not active:
        _revoke_all(session, user)
        forget_codes(session, user.id)  # a deactivated account's codes are void
    audit.record(
        session,
        actor,
        "activate" if active else "deactivate",
        "user",
        user.email,
        before=before,
        after=public(user),
    )
    return Standing(name=user.email, changed=True)


# -- sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    token: str
    user: User
    auth_session: AuthSession


def _revoke_all(session: Session, user: User) -> None:
    session.execute(
        sa.update(AuthSession)
        .where(col(AuthSession.user_id) == user.id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=clock.now())
    )


def _locked_message(until: datetime) -> str:
    stamp = until.isoformat(timespec="seconds")
    return f"too many failed logins: this address is locked until {stamp}"


def _throttle(session: Session, address: str, now: datetime) -> LoginThrottle:
    """The address's throttle row, created if need be and locked for this transaction:
    concurrent attempts on one address are taken one at a time (SQLite and MySQL)."""
    key = token_hash(address)
    insert_or_lock(
        session,
        table_of(LoginThrottle),
        {"address_key": key, "failures": 0, "window_start": now, "locked_until": None},
    )
    return session.exec(
        select(LoginThrottle)
        .where(LoginThrottle.address_key == key)
        .execution_options(populate_existing=True)
    ).one()


def _unlock(session: Session, address: str) -> None:
    session.execute(
        sa.delete(LoginThrottle).where(col(LoginThrottle.address_key) == token_hash(address))
    )


#: Failed logins from one network address (`cms serve`), whatever the e-mails tried,
#: within LOCK_WINDOW, before that address is refused for LOCK_DURATION.
SOURCE_FAILURES = 30


def source_failed(session: Session, source: str, now: datetime) -> None:
    """One more failed login from ``source``; the SOURCE_FAILURES-th locks it."""
    throttle = _throttle(session, f"source:{source}", now)
    if _count_failure(throttle, now, SOURCE_FAILURES):
        audit.record(session, None, "lock", "session", None, after={"source": source})


def _throttles(session: Session, keys: list[str]) -> dict[str, LoginThrottle]:
    """The throttle rows of ``keys`` (a plain read, in one statement)."""
    rows = session.exec(select(LoginThrottle).where(col(LoginThrottle.address_key).in_(keys)))
    return {row.address_key: row for row in rows.all()}


def _locked(throttle: LoginThrottle | None, now: datetime) -> datetime | None:
    """Until when ``throttle`` refuses logins, or None when it does not (now)."""
    until = throttle.locked_until if throttle is not None else None
    return until if until is not None and until > now else None


def check_password_of(
    session: Session, email: str, password: str, *, rounds: int = 12, source: str | None = None
) -> User:
    """The account if the password is right; counts failures and locks after five.

    Every outcome costs one bcrypt check at the configured cost and, but for a right
    password, says the same whether the account exists or not: "wrong e-mail or
    password", or, after five failures within 15 minutes on that address (known or
    not), that it is locked and until when. A deactivated account is named as such only
    to someone who gave its right password. Through `cms serve`, ``source`` (the
    client's address) is refused while locked, and each wrong password counts against
    it too. The throttles are read plainly (a right password takes no lock: logins never
    wait on each other); a failure takes its rows' locks and counts under them. The
    failure is written in the caller's transaction and the NotAuthenticated raised
    carries ``keep_changes``, so the session scope commits it though the command fails.
    """
    try:
        address = normalize_email(email)
    except ValidationError:
        verify_password(password, None, rounds=rounds)
        raise NotAuthenticated(BAD_CREDENTIALS) from None
    now = clock.now()
    account_key = token_hash(address)
    source_key = token_hash(f"source:{source}") if source is not None else None
    found = _throttles(session, [k for k in (account_key, source_key) if k is not None])
    refused = _locked(found.get(source_key or ""), now)
    if refused is not None:
        raise NotAuthenticated(
            f"too many failed logins from {source}: refused until "
            f"{refused.isoformat(timespec='minutes')}",
            hint="wait, then try again",
        )
    account = found.get(account_key)
    until = _locked(account, now)
    if until is not None:
        verify_password(password, None, rounds=rounds)  # as long as any other answer
        raise NotAuthenticated(
            _locked_message(until), hint="wait, or ask a manager to set a new password"
        )
    user = session.exec(select(User).where(User.email == address)).first()
    hashed = user.password_hash if user is not None else None
    # bcrypt takes a quarter of a second at cost 12: never inside a transaction that
    # holds a lock (on SQLite every transaction does), or every other request waits.
    release_read(session)
    if not verify_password(password, hashed, rounds=rounds):
        again_on_deadlock(session, lambda: _failed_login(session, address, user, source, now))
        raise NotAuthenticated(BAD_CREDENTIALS, keep_changes=True)
    assert user is not None
    if not user.is_active:
        raise NotAuthenticated("this account is deactivated", hint="ask a manager")
    if account is not None:  # earlier failures are forgotten
        _unlock(session, user.email)
    if _cost(hashed) != rounds:  # the configured cost changed: every account follows it
        user.password_hash = hash_password(password, rounds)
    return user


def _failed_login(
    session: Session, address: str, user: User | None, source: str | None, now: datetime
) -> None:
    """A wrong password's bookkeeping: the address's failure counted under its row's
    lock (NotAuthenticated if another failure locked it meanwhile), and the source's.
    Rows are locked account first, then source, by every login: no cycle."""
    throttle = _throttle(session, address, now)  # locked now, read afresh
    until = _locked(throttle, now)
    if until is not None:  # locked meanwhile by another failure
        raise NotAuthenticated(
            _locked_message(until), hint="wait, or ask a manager to set a new password"
        )
    _record_failure(session, throttle, user, now)
    if source is not None:
        source_failed(session, source, now)


def _count_failure(throttle: LoginThrottle, now: datetime, limit: int) -> bool:
    """One more failure in the throttle's window (a new window after LOCK_WINDOW); the
    ``limit``-th locks it for LOCK_DURATION and starts the count again. True if it did."""
    if throttle.failures == 0 or throttle.window_start <= now - LOCK_WINDOW:
        throttle.failures, throttle.window_start = 1, now
    else:
        throttle.failures += 1
    if throttle.failures < limit:
        return False
    throttle.locked_until = now + LOCK_DURATION
    throttle.failures = 0
    return True


def _record_failure(
    session: Session, throttle: LoginThrottle, user: User | None, now: datetime
) -> None:
    """One more failure in the address's window; the fifth locks it."""
    if _count_failure(throttle, now, LOCK_FAILURES) and user is not None:
        audit.record(
            session,
            None,
            "lock",
            "user",
            user.email,
            after={"locked_until": throttle.locked_until},
        )
    session.flush()


def prune_throttles(session: Session) -> int:
    """Forget addresses with no recent failure and no lock (the sweep calls this)."""
    now = clock.now()
    result = session.execute(
        sa.delete(LoginThrottle).where(
            col(LoginThrottle.window_start) < now - LOCK_WINDOW,
            sa.or_(
                col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) < now
            ),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _signed_in(row: AuthSession) -> dict[str, Any]:
    """What a login's audit event shows: the session's expiry and, through `cms serve`,
    the address the client came from (``cms audit list --entity session``)."""
    from cms_cli.core.context import client_address

    shown: dict[str, Any] = {"expires_at": row.expires_at}
    if (source := client_address.get()) is not None:
        shown["source"] = source
    return shown


def login(
    session: Session,
    email: str,
    password: str,
    *,
    hours: int,
    rounds: int = 12,
    source: str | None = None,
    max_days: int = 30,
) -> Login:
    """A new session for the right password (check_password_of), for ``hours`` (never
    more than its absolute lifetime, ``max_days``)."""
    user = check_password_of(session, email, password, rounds=rounds, source=source)
    now = clock.now()
    token = secrets.token_urlsafe(32)  # 256 bits
    row = AuthSession(
        user_id=user.id,  # type: ignore[arg-type]
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + min(timedelta(hours=hours), timedelta(days=max_days)),
    )
    session.add(row)
    session.flush()
    audit.record(session, user, "login", "session", row.id, after=_signed_in(row))
    return Login(token=token, user=user, auth_session=row)


def sign_in(
    session: Session,
    email: str,
    password: str,
    *,
    hours: int,
    max_days: int = 30,
    rounds: int = 12,
    now: datetime,
    source: str | None = None,
) -> SignedIn:
    """`auth login`: a new session for the right password. Through `cms serve`,
    ``source`` (the client's address) is throttled too: refused while locked, and each
    wrong password counts against it as against the account."""
    done = login(
        session, email, password, hours=hours, rounds=rounds, source=source, max_days=max_days
    )
    return SignedIn(
        token=done.token, expires_at=done.auth_session.expires_at, user=public(done.user)
    )


def status(session: Session, user: User, *, auth_session: AuthSession) -> SessionPublic:
    """Who the caller's session belongs to, until when."""
    return SessionPublic(
        email=user.email, name=user.name, role=user.role, expires_at=auth_session.expires_at
    )


def authenticate(session: Session, token: str) -> tuple[User, AuthSession]:
    """The user and session behind ``token``; NotAuthenticated (exit 4) otherwise."""
    now = clock.now()
    found = session.exec(
        select(AuthSession, User)
        .join(User, col(User.id) == AuthSession.user_id)
        .where(AuthSession.token_hash == token_hash(token))
    ).first()
    if found is None:
        raise NotAuthenticated("the session is not valid", hint="run cms auth login")
    row, user = found
    if row.created_at > now + CLOCK_SKEW:
        # Minted under a clock moved forward (CMS_NOW): worth nothing under this one.
        raise NotAuthenticated(
            f"the session was issued in the future ({row.created_at.isoformat(timespec='seconds')})"
            " of this clock: it is not valid",
            hint="run cms auth login",
        )
    if row.revoked_at is not None:
        raise NotAuthenticated("the session was revoked", hint="run cms auth login")
    if row.expires_at <= now:
        raise NotAuthenticated(
            f"the session expired at {row.expires_at.isoformat(timespec='seconds')}",
            hint="run cms auth login",
        )
    if not user.is_active:
        raise NotAuthenticated("this account is deactivated", hint="ask a manager")
    return user, row


def logout(session: Session, user: User, *, auth_session: AuthSession) -> Account:
    """End the caller's session."""
    auth_session.revoked_at = clock.now()
    audit.record(session, user, "logout", "session", auth_session.id)
    return Account(email=user.email)


def refresh(
    session: Session, user: User, *, auth_session: AuthSession, hours: int, max_days: int = 30
) -> SessionPublic:
    """Extend the caller's session by ``hours`` from now, never past its absolute
    lifetime: ``max_days`` after the login (then only a new login goes on)."""
    row = auth_session
    before = {"expires_at": row.expires_at}
    limit = row.created_at + timedelta(days=max_days)
    row.expires_at = max(row.expires_at, min(clock.now() + timedelta(hours=hours), limit))
    audit.record(
        session,
        user,
        "refresh",
        "session",
        row.id,
        before=before,
        after={"expires_at": row.expires_at},
    )
    return status(session, user, auth_session=row)


def change_password(
    session: Session,
    user: User,
    old: str,
    new: str,
    *,
    auth_session: AuthSession,
    rounds: int = 12,
) -> Account:
    """Change one's own password; every other session of the account ends.

    The current password is always checked (OWASP ASVS 2.1.6): a session alone, which
    may have been stolen, never takes the account. A wrong one counts toward the lock.
    """
    now = clock.now()
    email, hashed = user.email, user.password_hash
    until = _locked(_throttles(session, [token_hash(email)]).get(token_hash(email)), now)
    if until is not None:
        raise NotAuthenticated(
            _locked_message(until), hint="wait, or ask a manager to set a new password"
        )
    # bcrypt, three times here: never while the transaction holds a lock (core.db).
    release_read(session)
    if not verify_password(old, hashed, rounds=rounds):
        again_on_deadlock(session, lambda: _failed_login(session, email, user, None, now))
        raise NotAuthenticated("the current password is wrong", keep_changes=True)
    check_password(new, email)
    if verify_password(new, hashed):
        raise ValidationError("the new password is the same as the current one")
    new_hash = hash_password(new, rounds)
    user.password_hash = new_hash
    user.updated_at = clock.now()
    session.execute(
        sa.update(AuthSession)
        .where(
            col(AuthSession.user_id) == user.id,
            col(AuthSession.id) != auth_session.id,
            col(AuthSession.revoked_at).is_(None),
        )
        .values(revoked_at=clock.now())
    )
    audit.record(session, user, "passwd", "user", user.email)
    return Account(email=user.email)


def forget_codes(session: Session, user_id: int | None) -> None:
    """The account's unused codes are void: its password was set by a manager, or it was
    deactivated (a code e-mailed before must not undo either)."""
    session.execute(
        sa.delete(AccessCode).where(
            col(AccessCode.user_id) == user_id, col(AccessCode.used_at).is_(None)
        )
    )
