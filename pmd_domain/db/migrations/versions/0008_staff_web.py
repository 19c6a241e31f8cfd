"""staff_web: staff who work from the web panel only, server-held panel sessions,
versioned staff drafts

Revision ID: 0005_staff_web
Revises: 0007_whatsapp
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_staff_web"
down_revision: str | None = "0007_whatsapp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows are Telegram members (positive ids) and keep everything they had.
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.create_unique_constraint(batch.f("uq_staff_email"), ["email"])
        batch.create_check_constraint(
            batch.f("ck_staff_web_only_email"), "user_id > 0 OR email IS NOT NULL"
        )
    with op.batch_alter_table("staff_drafts") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff.user_id"],
            name=op.f("fk_staff_sessions_user_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index("ix_staff_sessions_user", "staff_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_staff_sessions_user", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    with op.batch_alter_table("staff_drafts") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("staff") as batch:
        batch.drop_constraint(batch.f("ck_staff_web_only_email"), type_="check")
        batch.drop_constraint(batch.f("uq_staff_email"), type_="unique")
        batch.drop_column("email")
