"""A reflection as handed in and as shown: plain pydantic, so that a client of `cms
serve` reads it without SQLAlchemy (the table is in models.py)."""

from __future__ import annotations

from datetime import datetime

from cms_cli.core.base import Model


class ReflectionCreate(Model):
    """A reflection as the page's file gives it (checked by ``files.parse``)."""

    offering_id: int
    language: str
    answers: dict[str, str]
    submitted_at: datetime
    #: The student's institutional e-mail, as typed on the page (files from before the
    #: page asked for it have none: those are handed in with `reflection submit`).
    email: str | None = None


class ReflectionPublic(Model):
    """A reflection as `reflection list` shows it (the contract's field order)."""

    student: str
    offering_id: int
    language: str
    answers: dict[str, str]
    submitted_at: datetime


class ResponseRate(Model):
    """An offering's reflections against its enrolment (`reflection summary`)."""

    offering_id: int
    module: str
    enrolled: int
    #: Reflections of students enrolled now.
    submitted: int
    #: submitted / enrolled as a percentage (one decimal); None with nobody enrolled.
    rate: float | None


class ImportedReflections(Model):
    """What `reflection import` did (or, on a dry run, would do)."""

    checked: int
    #: Reflections new to the database.
    created: int
    #: Stored reflections replaced by a newer file.
    replaced: int
    #: Files older than the reflection already stored (or than another file of the
    #: same student and offering in the import): left aside.
    kept: int
    dry_run: bool


class FileUpload(Model):
    """One file of `reflection import`, as a client sends it to `cms serve`."""

    name: str
    #: The file's bytes, base64.
    content: str


class ReflectionUpload(Model):
    """`reflection import`'s files, as a client sends them to `cms serve`."""

    dry_run: bool = False
    files: list[FileUpload]

    @classmethod
    def of(cls, files: list[tuple[str, bytes]], *, dry_run: bool) -> ReflectionUpload:
        import base64

        return cls(
            dry_run=dry_run,
            files=[FileUpload(name=n, content=base64.b64encode(raw).decode()) for n, raw in files],
        )


class Submitted(Model):
    """What `reflection submit` stored, and whether it replaced an earlier one."""

    reflection: ReflectionPublic
    replaced: bool
