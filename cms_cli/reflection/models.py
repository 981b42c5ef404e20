"""Students' end-of-course reflections, one per student and offering."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cms_cli.core.db import utc_column
from cms_cli.reflection.public import ReflectionCreate as ReflectionCreate
from cms_cli.reflection.public import ReflectionPublic as ReflectionPublic


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
