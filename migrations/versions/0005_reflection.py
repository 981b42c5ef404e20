"""reflections

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 19:45:26.944338
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cms_cli.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reflection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("question1", sa.Text(), nullable=False),
        sa.Column("question2", sa.Text(), nullable=False),
        sa.Column("question3", sa.Text(), nullable=False),
        sa.Column("submitted_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("received_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offering.id"],
            name=op.f("fk_reflection_offering_id_offering"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["app_user.id"], name=op.f("fk_reflection_student_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reflection")),
        sa.UniqueConstraint(
            "offering_id", "student_id", name=op.f("uq_reflection_offering_id_student_id")
        ),
    )
    with op.batch_alter_table("reflection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reflection_student_id"), ["student_id"], unique=False)


def downgrade() -> None:
    op.drop_table("reflection")
