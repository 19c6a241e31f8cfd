"""privacy: published breakdowns, frozen cross-tab answers of proposals, change counter

Revision ID: 0004_privacy
Revises: 0003_staff_drafts
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_privacy"
down_revision: str | None = "0004_integrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_figures",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mark", sa.BigInteger(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_figures")),
    )
    op.execute("INSERT INTO published_figures (id, version, mark, figures) VALUES (1, 0, 0, '{}')")
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("counted_as", sa.JSON(), nullable=True))
    # Proposals made before this version: their author's current answers (the same
    # unless the author corrected one since).
    build = (
        "json_object('gender', p.gender, 'age_group', p.age_group, 'sector', p.sector)"
        if op.get_bind().dialect.name == "sqlite"
        else "json_build_object('gender', p.gender, 'age_group', p.age_group, 'sector', p.sector)"
    )
    op.execute(
        f"UPDATE proposals SET counted_as = (SELECT {build} FROM participants p "  # noqa: S608
        "WHERE p.id = proposals.participant_id)"
    )
    # Changes since the last publication are counted from here: every participant and
    # proposal so far counts as one.
    op.execute(
        "INSERT INTO stat_counters (metric, dimension, bucket, value) "
        "SELECT 'changes', 'total', 'all', COALESCE(SUM(value), 0) FROM stat_counters "
        "WHERE dimension = 'total' AND bucket = 'all' AND metric IN ('participants', 'proposals')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM stat_counters WHERE metric = 'changes'")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("counted_as")
    op.drop_table("published_figures")
