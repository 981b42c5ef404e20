"""catalog, offerings, enrolments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:08:57.314409
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cms_cli.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "class_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("trimester", sa.Integer(), nullable=False),
        sa.Column(
            "intake",
            sa.Enum("HT1", "HT2", "FT", name="intake", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_group")),
        sa.UniqueConstraint("code", name=op.f("uq_class_group_code")),
    )
    op.create_table(
        "cohort",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort")),
        sa.UniqueConstraint("name_key", name=op.f("uq_cohort_name_key")),
    )
    op.create_table(
        "module",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_module")),
        sa.UniqueConstraint("code", name=op.f("uq_module_code")),
    )
    op.create_table(
        "offering",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("online", "in-person", "hybrid", name="mode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("facilitator_id", sa.Integer(), nullable=True),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("max_students", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", cms_cli.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["class_group.id"], name=op.f("fk_offering_class_id_class_group")
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohort.id"], name=op.f("fk_offering_cohort_id_cohort")
        ),
        sa.ForeignKeyConstraint(
            ["facilitator_id"], ["app_user.id"], name=op.f("fk_offering_facilitator_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["app_user.id"], name=op.f("fk_offering_manager_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["module_id"], ["module.id"], name=op.f("fk_offering_module_id_module")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offering")),
        sa.UniqueConstraint(
            "module_id",
            "class_id",
            "cohort_id",
            "mode",
            name=op.f("uq_offering_module_id_class_id_cohort_id_mode"),
        ),
    )
    with op.batch_alter_table("offering", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offering_class_id"), ["class_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offering_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_offering_facilitator_id_start_date_end_date"),
            ["facilitator_id", "start_date", "end_date"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_offering_manager_id"), ["manager_id"], unique=False)

    op.create_table(
        "enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offering.id"],
            name=op.f("fk_enrolment_offering_id_offering"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["app_user.id"], name=op.f("fk_enrolment_student_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
        sa.UniqueConstraint(
            "offering_id", "student_id", name=op.f("uq_enrolment_offering_id_student_id")
        ),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_student_id"), ["student_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("enrolment")
    op.drop_table("offering")
    op.drop_table("module")
    op.drop_table("cohort")
    op.drop_table("class_group")
