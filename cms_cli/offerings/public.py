"""What a manager asks for and what an offering shows: plain pydantic, so that a client
of `cms serve` reads and checks them without SQLAlchemy (the tables are in models.py).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from cms_cli.catalog.public import Intake, Mode
from cms_cli.core.base import Model
from cms_cli.core.errors import ValidationError
from cms_cli.offerings.rules import check_capacity, check_dates, parse_mode, parse_status

# The ladder (full-stack FastAPI template): what a manager asks for (OfferingCreate,
# OfferingUpdate: the rules checked once, where the model is made), the table above,
# and what is shown (OfferingPublic: `offering show/list --json`, the CSV columns in
# order, the audit trail's before and after). Rules raise cms's ValidationError (exit 1)
# with the words of the person's input: option names on the command line, column names
# in an import (the ``names`` in the validation context).

_OPTION_NAMES = ("--start", "--end")


def _names(info: ValidationInfo) -> tuple[str, str]:
    context = info.context or {}
    names: tuple[str, str] = context.get("names", _OPTION_NAMES)
    return names


class OfferingCreate(Model):
    """A new offering, as `offering create` and each row of `offering import` give it."""

    module: str
    class_code: str
    cohort: str
    mode: Mode
    start_date: date
    end_date: date
    facilitator: str | None = None
    max_students: int | None = None
    manager: str | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> Mode:
        return value if isinstance(value, Mode) else parse_mode(str(value))

    @field_validator("max_students")
    @classmethod
    def _capacity(cls, value: int | None) -> int | None:
        check_capacity(value)
        return value

    @model_validator(mode="after")
    def _dates(self, info: ValidationInfo) -> OfferingCreate:
        check_dates(self.start_date, self.end_date, names=_names(info))
        return self


class OfferingUpdate(Model):
    """What `offering update` changes: only the fields given (None: unchanged)."""

    facilitator: str | None = None
    no_facilitator: bool = False
    max_students: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    mode: Mode | None = None
    manager: str | None = None
    status: str | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> Mode | None:
        if value is None or isinstance(value, Mode):
            return value
        return parse_mode(str(value))

    @field_validator("max_students")
    @classmethod
    def _capacity(cls, value: int | None) -> int | None:
        check_capacity(value)
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        return None if value is None else parse_status(value)

    @model_validator(mode="after")
    def _something(self) -> OfferingUpdate:
        if self.facilitator and self.no_facilitator:
            raise ValidationError("--facilitator and --no-facilitator cannot be used together")
        given = {k for k, v in self if v is not None and k != "no_facilitator"}
        if not given and not self.no_facilitator:
            raise ValidationError("nothing to change", hint="give at least one option; see --help")
        return self


class OfferingPublic(Model):
    """An offering as shown (the contract's field order)."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    module: str
    module_name: str
    class_code: str = Field(alias="class")
    year: int
    trimester: int
    intake: Intake
    cohort: str
    mode: Mode
    facilitator: str | None
    manager: str
    start_date: date
    end_date: date
    weeks: int
    max_students: int | None
    enrolled: int
    status: str
    created_at: datetime


class StudentPublic(Model):
    """An enrolled student as `offering students` shows them."""

    email: str
    name: str
    student_id: str | None
    enrolled_at: datetime


class Filters(Model):
    """Which offerings a listing wants (`offering list`'s options, shared by the report,
    attendance and the rest; the query of their API)."""

    model_config = ConfigDict(populate_by_name=True)

    trimester: int | None = None
    cohort: str | None = None
    intake: str | None = None
    facilitator: str | None = None
    mode: str | None = None
    module: str | None = None
    class_code: str | None = Field(default=None, alias="class")
    year: int | None = None
    status: str | None = None
    include_cancelled: bool = False
    ids: list[int] | None = None


class EnrolReport(Model):
    """What an enrolment did: who was added, who was there already, the count after."""

    offering_id: int
    added: list[str]
    already: list[str]
    enrolled: int
    max_students: int | None
    end_date: date | None = None


class CopyRequest(Model):
    """What `offering copy` copies where, and how."""

    from_class: str
    to_class: str
    cohort: str | None = None
    start: date | None = None
    keep_facilitators: bool = False


class Copied(Model):
    """What a copy did (or, on a dry run, would do): source id -> new id (None on a
    dry run), the first start and the shift applied to every date."""

    copies: list[tuple[int, int | None]]
    first_start: date
    shift_days: int
    dry_run: bool


class CloseRequest(Model):
    """Which offerings `offering close` ends: a class's, or those ended before a day."""

    class_code: str | None = None
    ended_before: date | None = None


class Closed(Model):
    """What a close did (or, on a dry run, would do): the offerings closed now, and how
    many of those asked for were closed already."""

    closed: list[int]
    already: int
    dry_run: bool


class Deactivated(Model):
    """What `user deactivate --class` did (or would do): the accounts deactivated, and
    how many of the class's students were kept (enrolled in a running offering) or were
    inactive already."""

    accounts: list[str]
    kept: int
    already: int
    dry_run: bool


#: The columns of `offering import`'s file.
IMPORT_REQUIRED = ("module", "class", "cohort", "mode", "start_date", "end_date")
IMPORT_OPTIONAL = ("facilitator", "max_students")
#: The read-only columns of `offering list --csv`: an export, edited, imports as it is.
IMPORT_IGNORED = (
    "id",
    "module_name",
    "year",
    "trimester",
    "intake",
    "manager",
    "weeks",
    "enrolled",
    "status",
    "created_at",
)
IMPORT_COLUMNS: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], dict[str, str]] = (
    IMPORT_REQUIRED,
    IMPORT_OPTIONAL,
    IMPORT_IGNORED,
    {},
)
