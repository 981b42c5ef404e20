"""`cms serve`: the API over the services (FastAPI, run by uvicorn).

Each request is one transaction on the server's database, as one command is locally:
the same service functions, the same rules, the same errors (as RFC 9457 problem
documents). The server holds the database and queue credentials; clients hold a
session token. Stateless: any number of processes may serve behind a proxy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from cms_cli import __version__
from cms_cli.core.errors import CmsError, NotAuthenticated
from cms_cli.core.problems import MEDIA_TYPE, problem
from cms_cli.offerings.public import CopyRequest, Filters, OfferingCreate, OfferingUpdate
from cms_cli.reflection.public import ReflectionUpload
from cms_cli.tracker.public import LogChanges

if TYPE_CHECKING:
    from sqlmodel import Session

    from cms_cli.auth.models import User
    from cms_cli.core.config import Config
    from cms_cli.tracker.calendar import Deadlines

API = "/api/v1"


def _config() -> Config:
    from cms_cli.core.context import current

    return current().config()


def _now() -> datetime:
    """The server's clock (CMS_NOW in the server's own environment, for tests only)."""
    from cms_cli.core import clock

    return clock.now()


def _today() -> date:
    return _now().astimezone(_config().tz).date()


def _token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("not logged in", hint="run cms auth login --email EMAIL")
    return token.strip()


@contextmanager
def _signed(authorization: str | None) -> Iterator[tuple[Session, User]]:
    """One transaction, with the person the bearer token belongs to (exit 4 if none)."""
    from cms_cli.auth import service as auth
    from cms_cli.core.session import session_scope

    token = _token(authorization)
    with session_scope(_config()) as session:
        user, _ = auth.authenticate(session, token)
        yield session, user


def _shown(value: Any) -> Any:
    """A service's result as JSON: Public models under their shown names."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def _answer(value: Any) -> Any:
    """A route's answer: a Public model serialised by pydantic itself, in one call (what
    FastAPI would otherwise walk again with its own encoder); anything else as JSON."""
    if isinstance(value, BaseModel):
        return Response(value.model_dump_json(by_alias=True), media_type="application/json")
    return _shown(value)


Auth = Annotated[str | None, Header()]


class Passwords(BaseModel):
    old: str | None = None
    new: str


class LoginBody(BaseModel):
    email: str
    password: str


def _routes() -> APIRouter:
    router = APIRouter(prefix=API)

    @router.post("/auth/login")
    def login(body: LoginBody) -> Any:
        from cms_cli.auth import service as auth
        from cms_cli.auth.public import UserPublic
        from cms_cli.core.session import session_scope

        settings = _config().settings
        from cms_cli.core.context import client_address

        source = client_address.get() or "unknown"  # the peer's, or the trusted proxy's
        with session_scope(_config()) as session:
            auth.source_refused(session, source, _now())
            try:
                done = auth.login(
                    session,
                    body.email,
                    body.password,
                    hours=settings.session_hours,
                    rounds=settings.bcrypt_rounds,
                )
            except NotAuthenticated as exc:
                if exc.keep_changes:  # a wrong password, recorded: count the address too
                    auth.source_failed(session, source, _now())
                raise
            return {
                "token": done.token,
                "expires_at": done.auth_session.expires_at.isoformat(),
                "user": _shown(UserPublic.model_validate(done.user)),
            }

    @router.get("/auth/status")
    def status(authorization: Auth = None) -> Any:
        from cms_cli.auth import service as auth
        from cms_cli.core.session import session_scope

        with session_scope(_config()) as session:
            user, row = auth.authenticate(session, _token(authorization))
            return {
                "email": user.email,
                "name": user.name,
                "role": user.role.value,
                "expires_at": row.expires_at.isoformat(),
            }

    @router.post("/auth/refresh")
    def refresh(authorization: Auth = None) -> Any:
        from cms_cli.auth import service as auth
        from cms_cli.core.session import session_scope

        hours = _config().settings.session_hours
        with session_scope(_config()) as session:
            user, row = auth.authenticate(session, _token(authorization))
            row = auth.refresh(session, user, row, hours=hours)
            return {"email": user.email, "expires_at": row.expires_at.isoformat()}

    @router.post("/auth/passwd")
    def passwd(body: Passwords, authorization: Auth = None) -> Any:
        from cms_cli.auth import service as auth
        from cms_cli.core.session import session_scope

        rounds = _config().settings.bcrypt_rounds
        with session_scope(_config()) as session:
            user, row = auth.authenticate(session, _token(authorization))
            auth.change_password(session, user, body.old, body.new, keep=row, rounds=rounds)
            return {"email": user.email}

    @router.post("/auth/logout", status_code=204)
    def logout(authorization: Auth = None) -> Response:
        from cms_cli.auth import service as auth
        from cms_cli.core.session import session_scope

        with session_scope(_config()) as session:
            user, row = auth.authenticate(session, _token(authorization))
            auth.logout(session, user, row)
        return Response(status_code=204)

    @router.get("/offerings")
    def offerings(chosen: Chosen, authorization: Auth = None) -> Any:
        from cms_cli.offerings import service

        with _signed(authorization) as (session, me):
            return _rows(service.list_offerings(session, me, chosen, today=_today()))

    @router.get("/offerings/{offering_id}")
    def offering(offering_id: int, authorization: Auth = None) -> Any:
        from cms_cli.offerings import service

        with _signed(authorization) as (session, me):
            return _answer(service.show(session, me, offering_id, today=_today()))

    @router.get("/logs")
    def logs(
        authorization: Auth = None,
        offering_id: int | None = None,
        week: int | None = None,
        facilitator: str | None = None,
        module: str | None = None,
        status: str | None = None,
    ) -> Any:
        from cms_cli.tracker import service
        from cms_cli.tracker.public import ListFilters

        chosen = ListFilters(
            offering_id=offering_id,
            week=week,
            facilitator=facilitator,
            module=module,
            status=status,
        )
        with _signed(authorization) as (session, me):
            return _rows(
                service.list_logs(
                    session, me, chosen, deadlines=_rules(), now=_now(), today=_today()
                )
            )

    @router.post("/logs")
    def write_log(body: LogWrite, authorization: Auth = None) -> Any:
        from cms_cli.tracker import service

        with _signed(authorization) as (session, me):
            return _answer(
                service.write_log(
                    session,
                    me,
                    body.offering_id,
                    body.week,
                    body.changes,
                    deadlines=_rules(),
                    today=_today(),
                )
            )

    @router.post("/logs/delete")
    def delete_log(body: WeekBody, authorization: Auth = None) -> Any:
        from cms_cli.core.roles import Role, require
        from cms_cli.tracker import service

        with _signed(authorization) as (session, me):
            require(me, Role.manager)
            if not body.check:
                service.delete_log(session, me, body.offering_id, body.week)
            return {}

    @router.get("/logs/form/offerings")
    def form_offerings(authorization: Auth = None) -> Any:
        from cms_cli.tracker import service

        with _signed(authorization) as (session, me):
            return service.active_choices(session, me, _today())

    @router.get("/logs/form/weeks")
    def form_weeks(authorization: Auth = None, offering_id: int | None = None) -> Any:
        from cms_cli.tracker import service

        with _signed(authorization) as (session, me):
            return _answer(service.week_choice(session, me, offering_id, _today()))

    @router.get("/logs/form/draft")
    def form_draft(
        authorization: Auth = None, offering_id: int | None = None, week: int | None = None
    ) -> Any:
        from cms_cli.tracker import service

        with _signed(authorization) as (session, me):
            return _answer(service.log_draft(session, me, offering_id, week, _today()))

    @router.get("/logs/week")
    def log(week: int, authorization: Auth = None, offering_id: int | None = None) -> Any:
        from cms_cli.tracker import service

        with _signed(authorization) as (session, me):
            return _answer(
                service.show_log(session, me, offering_id, week, deadlines=_rules(), today=_today())
            )

    @router.get("/report")
    def report(chosen: Chosen, authorization: Auth = None) -> Any:
        from cms_cli.tracker import service

        with _signed(authorization) as (session, me):
            return _answer(
                service.report(session, me, chosen, deadlines=_rules(), now=_now(), today=_today())
            )

    @router.get("/attendance")
    def attendance(
        chosen: Chosen,
        authorization: Auth = None,
        offering_id: int | None = None,
        student: str | None = None,
        below: float | None = None,
    ) -> Any:
        from cms_cli.tracker.attendance import attendance as rows_of
        from cms_cli.tracker.public import AttendanceFilters

        wanted = AttendanceFilters(
            offerings=chosen, offering_id=offering_id, student=student, below=below
        )
        with _signed(authorization) as (session, me):
            return _rows(rows_of(session, me, wanted, today=_today()))

    @router.get("/deadlines")
    def deadlines(
        authorization: Auth = None,
        offering_id: int | None = None,
        facilitator: str | None = None,
    ) -> Any:
        from cms_cli.tracker.deadlines import upcoming

        with _signed(authorization) as (session, me):
            return _rows(
                upcoming(
                    session,
                    me,
                    offering_id=offering_id,
                    facilitator=facilitator,
                    deadlines=_rules(),
                    now=_now(),
                    today=_today(),
                )
            )

    @router.post("/offerings")
    def create_offering(body: OfferingCreate, authorization: Auth = None) -> Any:
        from cms_cli.offerings import service

        with _signed(authorization) as (session, me):
            return _answer(service.create(session, me, body, max_load=_max_load(), today=_today()))

    @router.patch("/offerings/{offering_id}")
    def update_offering(offering_id: int, body: OfferingUpdate, authorization: Auth = None) -> Any:
        from cms_cli.offerings import service

        with _signed(authorization) as (session, me):
            return _answer(
                service.update(session, me, offering_id, body, max_load=_max_load(), today=_today())
            )

    @router.post("/offerings/copy")
    def copy_offerings(body: CopyBody, authorization: Auth = None) -> Any:
        from cms_cli.offerings.rollover import copy_class

        with _signed(authorization) as (session, me):
            return _answer(
                copy_class(
                    session,
                    me,
                    body.request,
                    max_load=_max_load(),
                    today=_today(),
                    dry_run=body.dry_run,
                )
            )

    @router.post("/offerings/{offering_id}/cancel")
    def cancel_offering(offering_id: int, body: Check, authorization: Auth = None) -> Any:
        from cms_cli.offerings import service

        with _signed(authorization) as (session, me):
            if body.check:
                service.managed(session, me, offering_id)
                return {}
            _, changed = service.cancel(session, me, offering_id, today=_today())
            return {"changed": changed}

    @router.post("/offerings/{offering_id}/enrol")
    def enrol(offering_id: int, body: Enrol, authorization: Auth = None) -> Any:
        from cms_cli.offerings import service

        with _signed(authorization) as (session, me):
            if body.check:
                service.managed(session, me, offering_id)
                return {}
            return _answer(service.enrol(session, me, offering_id, body.emails))

    @router.post("/offerings/{offering_id}/unenrol")
    def unenrol(offering_id: int, body: Unenrol, authorization: Auth = None) -> Any:
        from cms_cli.offerings import service

        with _signed(authorization) as (session, me):
            return {"email": service.unenrol(session, me, offering_id, body.student).email}

    @router.get("/offerings/{offering_id}/students")
    def students(offering_id: int, authorization: Auth = None) -> Any:
        from cms_cli.offerings import service

        with _signed(authorization) as (session, me):
            return _rows(service.students(session, me, offering_id))

    @router.get("/catalog/{entity}")
    def catalog(entity: str, authorization: Auth = None, active: bool | None = None) -> Any:
        from cms_cli.catalog import service
        from cms_cli.core.errors import NotFound

        kind = {"module": service.MODULE, "cohort": service.COHORT, "class": service.CLASS}.get(
            entity
        )
        if kind is None:
            raise NotFound(f"no catalog of {entity!r}")
        with _signed(authorization) as (session, me):
            return _rows(service.listing(session, me, kind, active))

    @router.post("/catalog/{entity}")
    def catalog_add(entity: str, body: dict[str, Any], authorization: Auth = None) -> Any:
        from cms_cli.catalog import service

        with _signed(authorization) as (session, me):
            return {"name": service.add(session, me, entity, body)}

    @router.post("/catalog/{entity}/active")
    def catalog_active(entity: str, body: Activity, authorization: Auth = None) -> Any:
        from cms_cli.catalog import service
        from cms_cli.core.errors import NotFound

        kind = {"module": service.MODULE, "cohort": service.COHORT, "class": service.CLASS}.get(
            entity
        )
        if kind is None:
            raise NotFound(f"no catalog of {entity!r}")
        with _signed(authorization) as (session, me):
            item, changed = service.set_active(session, me, kind, body.value, body.active)
            return {"name": getattr(item, kind.shown), "changed": changed}

    @router.get("/users")
    def users(
        authorization: Auth = None, role: str | None = None, active: bool | None = None
    ) -> Any:
        from cms_cli.auth import service
        from cms_cli.core.roles import Role

        with _signed(authorization) as (session, me):
            return _rows(
                service.list_users(session, me, role=Role(role) if role else None, active=active)
            )

    @router.post("/users")
    def add_user(body: NewAccount, authorization: Auth = None) -> Any:
        from cms_cli.auth import service
        from cms_cli.core.roles import Role

        new = service.NewUser(
            email=body.email,
            name=body.name,
            role=Role(body.role),
            employee_id=body.employee_id,
            student_id=body.student_id,
        )
        rounds = _config().settings.bcrypt_rounds
        with _signed(authorization) as (session, me):
            return {"email": service.add_user(session, me, new, body.password, rounds=rounds).email}

    @router.post("/users/password")
    def set_password(body: NewPassword, authorization: Auth = None) -> Any:
        from cms_cli.auth import service
        from cms_cli.core.errors import UsageError
        from cms_cli.core.roles import Role, require

        rounds = _config().settings.bcrypt_rounds
        with _signed(authorization) as (session, me):
            require(me, Role.manager)
            if body.check:
                return {"email": service.get_user(session, body.email).email}
            if body.password is None:
                raise UsageError("a new password is needed")
            user = service.set_password(session, me, body.email, body.password, rounds=rounds)
            return {"email": user.email}

    @router.post("/users/active")
    def set_active(body: Standing, authorization: Auth = None) -> Any:
        from cms_cli.auth import service
        from cms_cli.core.roles import Role, require

        with _signed(authorization) as (session, me):
            if body.check:
                require(me, Role.manager)
                return {"email": service.get_user(session, body.email).email}
            user, changed = service.set_active(session, me, body.email, body.active)
            return {"email": user.email, "changed": changed}

    @router.get("/notifications")
    def notifications(
        authorization: Auth = None, status: str | None = None, recipient: str | None = None
    ) -> Any:
        from cms_cli.notify import service

        with _signed(authorization) as (session, me):
            return _rows(
                service.list_notifications(session, me, status=status, recipient=recipient)
            )

    @router.post("/notifications/retry")
    def retry(body: Retry, authorization: Auth = None) -> Any:
        from cms_cli.notify import queue, service

        with _signed(authorization) as (session, me):
            chosen = service.retry(session, me, body.ids, all_failed=body.all_failed)
        queue.enqueue_deliveries(_config(), chosen)
        return {"ids": chosen}

    @router.get("/inbox")
    def inbox(authorization: Auth = None, all: bool = False) -> Any:
        from cms_cli.notify import service

        with _signed(authorization) as (session, me):
            return _rows(service.inbox(session, me, include_read=all))

    @router.post("/inbox/{item_id}/read")
    def inbox_item(item_id: int, authorization: Auth = None) -> Any:
        from cms_cli.notify import service

        with _signed(authorization) as (session, me):
            return _answer(service.inbox_item(session, me, item_id))

    @router.post("/inbox/read")
    def mark_read(body: MarkRead, authorization: Auth = None) -> Any:
        from cms_cli.notify import service

        with _signed(authorization) as (session, me):
            return {"marked": service.mark_read(session, me, body.ids, everything=body.all)}

    @router.get("/audit")
    def audit(
        authorization: Auth = None,
        entity: str | None = None,
        actor: str | None = None,
        since: date | None = None,
    ) -> Any:
        from cms_cli.audit import service

        with _signed(authorization) as (session, me):
            return _rows(
                service.list_events(
                    session, me, entity=entity, actor_email=actor, since=since, tz=_config().tz
                )
            )

    @router.post("/reflections")
    async def submit(request: Request, name: str = "the uploaded file") -> Any:
        from cms_cli.reflection.files import MAX_FILE

        authorization = request.headers.get("authorization")
        await _known(authorization)
        raw = await _capped(request, MAX_FILE, name)
        return await run_in_threadpool(_submit, raw, name, authorization)

    @router.post("/imports/{what}")
    async def imports(
        what: str,
        request: Request,
        name: str = "the uploaded file",
        dry_run: bool = False,
        check: bool = False,
    ) -> Any:
        from cms_cli.auth.remote import MAX_UPLOAD

        authorization = request.headers.get("authorization")
        await _known(authorization)
        raw = b"" if check else await _capped(request, MAX_UPLOAD, name)
        return await run_in_threadpool(_import, what, raw, name, dry_run, check, authorization)

    @router.get("/reflections")
    def reflections(offering_id: int, authorization: Auth = None) -> Any:
        from cms_cli.reflection import service

        with _signed(authorization) as (session, me):
            return _rows(service.list_reflections(session, me, offering_id))

    @router.get("/reflections/summary")
    def reflection_summary(
        chosen: Chosen, authorization: Auth = None, offering_id: int | None = None
    ) -> Any:
        from cms_cli.reflection import service

        with _signed(authorization) as (session, me):
            if offering_id is not None:  # `reflection list`'s rate: exit 3/5 as the list's
                return [_shown(service.response_rate(session, me, offering_id, today=_today()))]
            return _rows(service.response_rates(session, me, chosen, today=_today()))

    @router.post("/reflections/import")
    async def reflection_import(request: Request) -> Any:
        from cms_cli.reflection.files import MAX_IMPORT

        authorization = request.headers.get("authorization")
        await _known(authorization)
        # base64 is 4/3 of the bytes, and the names and the JSON around them.
        raw = await _capped(request, MAX_IMPORT * 4 // 3 + 1_000_000, "the import")
        return await run_in_threadpool(_import_reflections, raw, authorization)

    return router


async def _known(authorization: str | None) -> None:
    """NotAuthenticated (exit 4) for a request whose token is not a valid session: an
    upload is refused before its body is read, as a command checks who runs it first."""

    def check() -> None:
        with _signed(authorization):
            pass

    await run_in_threadpool(check)


async def _capped(request: Request, limit: int, name: str) -> bytes:
    """The request's body, refused (exit 1) past ``limit`` bytes without reading more."""
    from cms_cli.core.errors import ValidationError

    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ValidationError(f"{name}: too large (over {limit} bytes)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ValidationError(f"{name}: too large (over {limit} bytes)")
    return bytes(body)


def _import(
    what: str, raw: bytes, name: str, dry_run: bool, check: bool, authorization: str | None
) -> Any:
    """An uploaded CSV imported as its command imports a file (the same checks, the same
    `line N:` problems, naming the file as the client gave it), all or nothing."""
    import dataclasses
    import tempfile
    from pathlib import Path

    from cms_cli.core.csvfile import CsvFile
    from cms_cli.core.errors import NotFound
    from cms_cli.core.roles import Role, require

    settings = _config().settings
    if what == "offerings":
        from cms_cli.offerings import public as offerings
        from cms_cli.offerings.importer import import_offerings

        roles: tuple[Role, ...] = (Role.manager,)
        columns: tuple[tuple[str, ...], tuple[str, ...]] = (
            offerings.IMPORT_REQUIRED,
            offerings.IMPORT_OPTIONAL,
        )

        def run(session: Any, me: Any, rows: Any) -> Any:
            return import_offerings(session, me, rows, max_load=settings.max_load, dry_run=dry_run)
    elif what == "users":
        from cms_cli.auth import public as users
        from cms_cli.auth import service as accounts

        roles = (Role.manager,)
        columns = (users.IMPORT_REQUIRED, users.IMPORT_OPTIONAL)

        def run(session: Any, me: Any, rows: Any) -> Any:
            return accounts.import_users(
                session, me, rows, dry_run=dry_run, rounds=settings.bcrypt_rounds
            )
    elif what == "logs":
        from cms_cli.tracker import public as logs
        from cms_cli.tracker.importer import import_logs

        roles = (Role.manager, Role.facilitator)
        columns = (logs.IMPORT_REQUIRED, logs.IMPORT_OPTIONAL)

        def run(session: Any, me: Any, rows: Any) -> Any:
            return import_logs(session, me, rows, dry_run=dry_run)
    else:
        raise NotFound(f"no import of {what!r}")
    with tempfile.TemporaryDirectory(prefix="cms-upload-") as folder:
        copy = Path(folder) / "upload.csv"
        copy.write_bytes(raw)
        with _signed(authorization) as (session, me):
            require(me, *roles)
            if check:
                return {}
            with CsvFile(copy, *columns, name=name) as rows:
                return dataclasses.asdict(run(session, me, rows))


def _import_reflections(raw: bytes, authorization: str | None) -> Any:
    """`reflection import`'s files, uploaded as JSON (names and base64 contents)."""
    import base64
    import binascii

    from pydantic import ValidationError as Invalid

    from cms_cli.core.errors import ValidationError
    from cms_cli.reflection import service

    try:
        upload = ReflectionUpload.model_validate_json(raw)
        files = [(f.name, base64.b64decode(f.content, validate=True)) for f in upload.files]
    except (Invalid, binascii.Error, ValueError):
        raise ValidationError("the import is not a list of files (name and content)") from None
    with _signed(authorization) as (session, me):
        return _answer(service.import_files(session, me, files, dry_run=upload.dry_run))


def _submit(raw: bytes, name: str, authorization: str | None) -> Any:
    from cms_cli.reflection import service

    with _signed(authorization) as (session, me):
        row, replaced = service.submit(session, me, raw, name)
        return {"reflection": _shown(row), "replaced": replaced}


class CopyBody(BaseModel):
    request: CopyRequest
    dry_run: bool = False


class WeekBody(BaseModel):
    offering_id: int
    week: int
    check: bool = False


class Retry(BaseModel):
    ids: list[int] = []
    all_failed: bool = False


class NewAccount(BaseModel):
    email: str
    name: str
    role: str
    employee_id: str | None = None
    student_id: str | None = None
    password: str | None = None


class NewPassword(BaseModel):
    email: str
    password: str | None = None
    check: bool = False


class Standing(BaseModel):
    email: str
    active: bool
    check: bool = False


class Activity(BaseModel):
    value: str
    active: bool


class Check(BaseModel):
    """``check``: only the permission and existence checks, before a confirmation."""

    check: bool = False


class Enrol(Check):
    emails: list[str] = []


class Unenrol(BaseModel):
    student: str


def _max_load() -> int:
    return _config().settings.max_load


class LogWrite(BaseModel):
    offering_id: int | None = None
    week: int | None = None
    changes: LogChanges


class MarkRead(BaseModel):
    ids: list[int] = []
    all: bool = False


def _offering_filters(
    trimester: int | None = None,
    cohort: str | None = None,
    intake: str | None = None,
    facilitator: str | None = None,
    mode: str | None = None,
    module: str | None = None,
    class_code: Annotated[str | None, Query(alias="class")] = None,
    year: int | None = None,
    status: str | None = None,
    include_cancelled: bool = False,
) -> Filters:
    """The offering filters of `offering list`, as query parameters (offerings.options
    builds them from the command line's)."""
    from cms_cli.offerings.options import filters

    return filters(
        trimester,
        cohort,
        intake,
        facilitator,
        mode,
        module,
        class_code,
        year,
        status,
        include_cancelled,
    )


Chosen = Annotated[Filters, Depends(_offering_filters)]


def _rules() -> Deadlines:
    from cms_cli.tracker.calendar import Deadlines

    return Deadlines.of(_config())


def _rows(rows: list[Any]) -> JSONResponse:
    """A listing: the models dumped in one call, as JSON values."""
    from cms_cli.core.output import as_rows

    return JSONResponse(_plain(as_rows(rows)))


def _plain(rows: Any) -> Any:
    """Rows of Python values (dates, enums) as JSON values."""
    from cms_cli.core.output import plain

    return plain(list(rows))


def create_app() -> FastAPI:
    """The application (uvicorn calls this in each worker process)."""
    from cms_cli.server import metrics

    app = FastAPI(
        title="cms",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.include_router(_routes())

    @app.exception_handler(CmsError)
    def _cms_error(request: Request, exc: CmsError) -> JSONResponse:
        status, document = problem(exc)
        return JSONResponse(document, status_code=status, media_type=MEDIA_TYPE)

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        from cms_cli.main import as_cms_error

        status, document = problem(as_cms_error(exc))
        return JSONResponse(document, status_code=status, media_type=MEDIA_TYPE)

    app.add_middleware(Capped)
    app.add_middleware(Addressed)
    app.add_middleware(Measured)

    @app.get("/health")
    def health() -> JSONResponse:
        checks = {"database": _check_database()}
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "version": __version__, **checks},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics")
    def prometheus() -> PlainTextResponse:
        body, media = metrics.exposition()
        return PlainTextResponse(body, media_type=media)

    return app


#: The largest JSON body a request may carry (uploads have their own, larger caps).
MAX_BODY = 1024 * 1024


class Capped:
    """Refuses a request body declared larger than MAX_BODY (exit 1, 413) before it is
    read; the upload routes (imports, reflections) cap what they read themselves."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(
            (API + "/imports/", API + "/reflections")
        ):
            declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
            if declared.isdigit() and int(declared) > MAX_BODY:
                from cms_cli.core.errors import ValidationError

                _, document = problem(
                    ValidationError(f"the request is too large (over {MAX_BODY} bytes)")
                )
                answer = JSONResponse(document, status_code=413, media_type=MEDIA_TYPE)
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Addressed:
    """Notes each request's client address for the audit trail (core.context): the
    peer's, or behind a proxy that uvicorn trusts (FORWARDED_ALLOW_IPS, loopback by
    default), the address in its X-Forwarded-For. Sync routes run in a thread pool that
    carries the request's context along."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from cms_cli.core.context import client_address

        client = scope.get("client")
        # A trusted proxy's X-Forwarded-For is whatever the client put first: bounded.
        marker = client_address.set(str(client[0])[:64] if client else "unknown")
        try:
            await self.app(scope, receive, send)
        finally:
            client_address.reset(marker)


class Measured:
    """Counts and times every request for /metrics: plain ASGI (Starlette's
    BaseHTTPMiddleware would cost more than many of the requests it measures)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from cms_cli.server import metrics

        started = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            metrics.observe(
                scope["method"],
                getattr(route, "path", "unmatched"),
                status,
                time.perf_counter() - started,
            )


def _check_database() -> str:
    try:
        import sqlalchemy as sa

        from cms_cli.core.session import session_scope

        with session_scope(_config()) as session:
            session.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception as exc:  # a health check reports, it does not fail
        from cms_cli.main import as_cms_error

        return as_cms_error(exc).message
