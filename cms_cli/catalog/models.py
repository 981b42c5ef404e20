"""The catalog: modules, cohorts and classes. Modes are fixed (an enum, not a table)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cms_cli.catalog.public import ClassGroupPublic as ClassGroupPublic
from cms_cli.catalog.public import CohortPublic as CohortPublic
from cms_cli.catalog.public import Intake as Intake
from cms_cli.catalog.public import Mode as Mode
from cms_cli.catalog.public import ModulePublic as ModulePublic
from cms_cli.core.db import str_enum, utc_column


class Module(SQLModel, table=True):
    __tablename__ = "module"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=200)
    credits: int
    description: str | None = Field(default=None, sa_type=sa.Text)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=utc_column())


class Cohort(SQLModel, table=True):
    __tablename__ = "cohort"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    #: The name folded to lower case: unique, so "Cohort A" and "cohort a" are one
    #: cohort on every database (MySQL's collation and SQLite's would disagree).
    name_key: str = Field(max_length=50, unique=True)
    start_date: date | None = None
    end_date: date | None = None
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=utc_column())


class ClassGroup(SQLModel, table=True):
    """A class intake such as 2026J: year, trimester 1-3, intake HT1/HT2/FT."""

    __tablename__ = "class_group"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    year: int
    trimester: int
    intake: Intake = Field(sa_type=str_enum(Intake, length=8))
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=utc_column())
