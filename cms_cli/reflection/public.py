"""A reflection as handed in and as shown: plain pydantic, so that a client of `cms
serve` reads it without SQLAlchemy (the table is in models.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ReflectionCreate(BaseModel):
    """A reflection as the page's file gives it (checked by ``files.parse``)."""

    offering_id: int
    language: str
    answers: dict[str, str]
    submitted_at: datetime


class ReflectionPublic(BaseModel):
    """A reflection as `reflection list` shows it (the contract's field order)."""

    student: str
    offering_id: int
    language: str
    answers: dict[str, str]
    submitted_at: datetime
