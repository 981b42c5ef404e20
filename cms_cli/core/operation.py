"""One user operation, declared once: what the server's route, the client's call and
the local call are all derived from.

A declaration names the HTTP method and path, the input model (path fields, then the
query of a GET or the body of a write), the result type, the service function it runs
(``"package.module:function"``, imported only where a database is), what it needs from
the invocation (``today``, ``now``, ``deadlines``, settings...), and, for an operation
that asks for a confirmation, its pre-check. The service is called as
``service(session, me, **fields of the input, **needs)``.

Plain pydantic and the standard library: a client of `cms serve` imports this without
SQLAlchemy.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

Out = TypeVar("Out")

#: What an operation may need from the invocation, besides its input (api.needs).
NEEDS = frozenset(
    {
        "today",  # the day of "now" in the institution's time zone
        "now",  # the instant of this invocation (or request)
        "tz",  # the institution's time zone
        "deadlines",  # tracker.calendar.Deadlines of the settings
        "max_load",  # settings.max_load
        "rounds",  # settings.bcrypt_rounds
        "hours",  # settings.session_hours
        "max_days",  # settings.session_max_days
        "config",  # the whole Config (an operation that enqueues)
        "auth_session",  # the caller's own session row (refresh, logout, passwd)
        "source",  # the client's network address through `cms serve`, else None
        "page",  # core.operation.Page: the rows a paged service is asked for
        "progress",  # a callable(fraction done) on a terminal, else None
    }
)


@dataclass(frozen=True, kw_only=True)
class Upload:
    """An operation whose input carries a file: locally the service reads it from its
    path; through `cms serve` the client sends its bytes as the request's body and the
    server hands the service a bounded copy (a path, or the bytes)."""

    field: str
    media_type: str
    limit: int
    #: The service takes the file's bytes (True) or a path to them (False).
    as_bytes: bool = False


#: The largest CSV file a client uploads (an import of a whole term is a few megabytes).
MAX_CSV = 64 * 1024 * 1024
#: An import's CSV file (core.csvfile.CsvImport's ``file``).
CSV = Upload(field="file", media_type="text/csv", limit=MAX_CSV)


class Page(BaseModel):
    """The rows a listing asks for: ``limit`` rows from ``offset`` (limit 0: all)."""

    limit: int = 0
    offset: int = 0


class Paged(BaseModel, Generic[Out]):
    """A page of a listing and how many rows match in all."""

    rows: list[Out]
    total: int


class Rows(list[Any]):
    """A listing's rows as a command received them, with how many match in all (the
    human listing says how many more there are)."""

    total: int

    def __init__(self, rows: list[Any], total: int | None = None) -> None:
        super().__init__(rows)
        self.total = len(rows) if total is None else total


@dataclass(frozen=True, kw_only=True)
class Operation:
    """A user operation (see the module's docstring)."""

    name: str
    method: str
    path: str
    input: type[BaseModel]
    output: Any
    service: str
    summary: str
    needs: tuple[str, ...] = ()
    #: The input field that is the whole body of a write (or the query of a GET).
    body: str | None = None
    #: ``"module:function"`` run before a confirmation (or a file is read): the same
    #: permission and existence checks as the operation, in a transaction of its own.
    check: str | None = None
    #: A listing: the route takes ``limit``/``offset`` and answers paging headers.
    paged: bool = False
    upload: Upload | None = None
    #: False for the one operation anyone may call (logging in).
    signed: bool = True
    status_code: int = 200
    #: Arguments the service always gets (one service serving several kinds).
    fixed: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.needs) - NEEDS
        if unknown:
            raise ValueError(f"{self.name}: unknown needs {sorted(unknown)}")
        fields = set(self.input.model_fields)
        missing = set(self.path_fields) - fields
        if missing or (self.body is not None and self.body not in fields):
            raise ValueError(f"{self.name}: {self.path} and the input model disagree")

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    @property
    def rest_fields(self) -> tuple[str, ...]:
        """The input's fields that are not in the path (nor the uploaded file)."""
        skip = set(self.path_fields) | ({self.upload.field} if self.upload else set())
        return tuple(f for f in self.input.model_fields if f not in skip)

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    def function(self) -> Callable[..., Any]:
        return _resolve(self.service)

    def checker(self) -> Callable[..., Any] | None:
        return _resolve(self.check) if self.check else None

    def arguments(self, data: BaseModel) -> dict[str, Any]:
        """The service's keyword arguments from the input (its fields, as they are)."""
        values = {name: getattr(data, name) for name in type(data).model_fields}
        return {**values, **dict(self.fixed)}

    def shape(self, result: Any) -> Any:
        """The service's result as the declared type: a table row read into its Public
        model; anything else as it is."""
        output = self.output
        if (
            isinstance(output, type)
            and issubclass(output, BaseModel)
            and not isinstance(result, output)
        ):
            return output.model_validate(result, from_attributes=True)
        return result

    def results(self) -> TypeAdapter[Any]:
        """Reads and writes the result type (a model, a list of them)."""
        return _adapter(self.output)


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def only_accepted(function: Callable[..., Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments ``function`` takes by name (a pre-check takes fewer than the
    operation it guards)."""
    import inspect

    taken = inspect.signature(function).parameters
    return {k: v for k, v in arguments.items() if k in taken}


#: The modules that declare operations, in the order of the API's documentation.
CAPABILITIES = (
    "cms_cli.auth.api",
    "cms_cli.catalog.api",
    "cms_cli.offerings.api",
    "cms_cli.tracker.api",
    "cms_cli.notify.api",
    "cms_cli.audit.api",
    "cms_cli.reflection.api",
)


def declared() -> dict[str, list[Operation]]:
    """Every operation, by the capability that declares it (its ``OPERATIONS``)."""
    found: dict[str, list[Operation]] = {}
    for name in CAPABILITIES:
        module = importlib.import_module(name)
        found[name.split(".")[1]] = list(module.OPERATIONS)
    return found
