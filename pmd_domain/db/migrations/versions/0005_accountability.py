"""accountability: public proposal pages (search column, first publication) and exposure

Revision ID: 0005_accountability
Revises: 0004_operations
Create Date: 2026-12-01
"""

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_accountability"
down_revision: str | None = "0004_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2_000
_SPACES = re.compile(r"\s+")


def _search_key(*texts: str | None) -> str:
    # Frozen copy of services/public_proposals.search_key as of this revision.
    joined = " ".join(t for t in texts if t)
    decomposed = unicodedata.normalize("NFKD", joined.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare).strip()


def _bucket(views: int) -> int:
    # Frozen copy of services/exposure.bucket_of as of this revision.
    views = max(0, int(views))
    if views < 1_000:
        return views
    bound = 1_000
    while bound * 2 <= views:
        bound *= 2
    return bound


def upgrade() -> None:
    op.add_column("proposals", sa.Column("published_at", sa.DateTime(timezone=True)))
    op.add_column(
        "proposals", sa.Column("search_text", sa.Text(), server_default="", nullable=False)
    )
    for name, columns in (
        ("ix_proposals_status_id", ["status", "id"]),
        ("ix_proposals_status_pillar_id", ["status", "pillar", "id"]),
        ("ix_proposals_status_pillar_topic_id", ["status", "pillar", "topic", "id"]),
        ("ix_proposals_status_outcome_id", ["status", "outcome", "id"]),
    ):
        op.create_index(name, "proposals", columns)
    bind = op.get_bind()
    proposals = sa.table(
        "proposals",
        sa.column("id", sa.Integer()),
        sa.column("folio", sa.String()),
        sa.column("problem", sa.Text()),
        sa.column("proposal", sa.Text()),
        sa.column("vision", sa.Text()),
        sa.column("status", sa.String()),
        sa.column("views", sa.Integer()),
        sa.column("search_text", sa.Text()),
    )
    # Published before this revision: the last moderation is the best date known.
    op.execute(
        "UPDATE proposals SET published_at = moderated_at "
        "WHERE status = 'published' AND published_at IS NULL"
    )
    histogram: Counter[int] = Counter()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(
                proposals.c.id,
                proposals.c.folio,
                proposals.c.problem,
                proposals.c.proposal,
                proposals.c.vision,
                proposals.c.status,
                proposals.c.views,
            )
            .where(proposals.c.id > after)
            .order_by(proposals.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            sa.update(proposals)
            .where(proposals.c.id == sa.bindparam("pid"))
            .values(search_text=sa.bindparam("folded")),
            [
                {"pid": r.id, "folded": _search_key(r.folio, r.problem, r.proposal, r.vision)}
                for r in rows
            ],
        )
        histogram.update(_bucket(r.views or 0) for r in rows if r.status == "published")
        after = rows[-1].id
    counters = sa.table(
        "stat_counters",
        sa.column("metric", sa.String()),
        sa.column("dimension", sa.String()),
        sa.column("bucket", sa.String()),
        sa.column("value", sa.BigInteger()),
    )
    op.execute("DELETE FROM stat_counters WHERE metric = 'exposure'")
    if histogram:
        bind.execute(
            sa.insert(counters),
            [
                {"metric": "exposure", "dimension": "views", "bucket": str(b), "value": n}
                for b, n in sorted(histogram.items())
            ],
        )


def downgrade() -> None:
    op.execute("DELETE FROM stat_counters WHERE metric = 'exposure'")
    for name in (
        "ix_proposals_status_outcome_id",
        "ix_proposals_status_pillar_topic_id",
        "ix_proposals_status_pillar_id",
        "ix_proposals_status_id",
    ):
        op.drop_index(name, table_name="proposals")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("search_text")
        batch.drop_column("published_at")
