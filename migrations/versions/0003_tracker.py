"""weekly logs and attendance

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:22:38.305568
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cms_cli.core.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weekly_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column(
            "formative_one_grading",
            sa.Enum("done", "pending", "not-started", name="status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "formative_two_grading",
            sa.Enum("done", "pending", "not-started", name="status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "summative_grading",
            sa.Enum("done", "pending", "not-started", name="status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "course_moderation",
            sa.Enum("done", "pending", "not-started", name="status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "intranet_sync",
            sa.Enum("done", "pending", "not-started", name="status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "grade_book_status",
            sa.Enum("done", "pending", "not-started", name="status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("attendance_taken", sa.Boolean(), nullable=False),
        sa.Column("completion", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", cms_cli.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offering.id"],
            name=op.f("fk_weekly_log_offering_id_offering"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_log")),
        sa.UniqueConstraint("offering_id", "week", name=op.f("uq_weekly_log_offering_id_week")),
    )
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["weekly_log.id"],
            name=op.f("fk_attendance_log_id_weekly_log"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["app_user.id"], name=op.f("fk_attendance_student_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint("log_id", "student_id", name=op.f("uq_attendance_log_id_student_id")),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_student_id"), ["student_id"], unique=False)


def downgrade() -> None:
    op.drop_table("attendance")
    op.drop_table("weekly_log")
