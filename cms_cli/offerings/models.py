"""Offerings (a module taught to a class and cohort in a mode) and enrolments."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cms_cli.catalog.models import Mode
from cms_cli.core.db import str_enum, utc_column
from cms_cli.offerings.public import OfferingCreate as OfferingCreate
from cms_cli.offerings.public import OfferingPublic as OfferingPublic
from cms_cli.offerings.public import OfferingUpdate as OfferingUpdate
from cms_cli.offerings.public import StudentPublic as StudentPublic


class Offering(SQLModel, table=True):
    __tablename__ = "offering"
    __table_args__ = (
        sa.UniqueConstraint("module_id", "class_id", "cohort_id", "mode"),
        sa.Index(None, "facilitator_id", "start_date", "end_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique key (module_id, class_id, ...) starts with it.
    module_id: int = Field(foreign_key="module.id")
    class_id: int = Field(foreign_key="class_group.id", index=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    mode: Mode = Field(sa_type=str_enum(Mode, length=16))
    facilitator_id: int | None = Field(default=None, foreign_key="app_user.id")
    manager_id: int = Field(foreign_key="app_user.id", index=True)
    start_date: date
    end_date: date
    max_students: int | None = None
    cancelled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    #: Set by `cms offering close`: its term is over; it is completed, and never swept.
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class Enrolment(SQLModel, table=True):
    __tablename__ = "enrolment"
    __table_args__ = (sa.UniqueConstraint("offering_id", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    offering_id: int = Field(foreign_key="offering.id", ondelete="CASCADE")
    student_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(sa_column=utc_column())
