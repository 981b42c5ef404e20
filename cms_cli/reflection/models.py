"""Students' end-of-course reflections, one per student and offering."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from cms_cli.core.db import utc_column


class Reflection(SQLModel, table=True):
    __tablename__ = "reflection"
    __table_args__ = (sa.UniqueConstraint("offering_id", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    offering_id: int = Field(foreign_key="offering.id", ondelete="CASCADE")
    student_id: int = Field(foreign_key="app_user.id", index=True)
    language: str = Field(max_length=8)
    question1: str = Field(sa_type=sa.Text)
    question2: str = Field(sa_type=sa.Text)
    question3: str = Field(sa_type=sa.Text)
    submitted_at: datetime = Field(sa_column=utc_column())
    received_at: datetime = Field(sa_column=utc_column())


class ReflectionCreate(BaseModel):
    """A reflection as the page's file gives it (checked by ``service.read_file``)."""

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
