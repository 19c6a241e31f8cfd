"""integrity: assurance levels, supports by level, discounts, limits, codes, kiosks, audit log

Existing participants and supports get their level from their channel (Telegram
and the synthetic ``demo`` participants, which stand for Telegram ones: ``phone``;
the browser chat: ``anonymous``). The supports counters are split by level and each
proposal's ranking count keeps only the levels the consultation counts; the local
day of a browser support is computed in the consultation's time zone, read the way
the service reads it (``PMD_CONSULTATION``).

Revision ID: 0004_integrity
Revises: 0003_staff_drafts
Create Date: 2026-12-07
"""

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_integrity"
down_revision: str | None = "0003_staff_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LEVELS = ("phone", "verified", "anonymous")


def _consultation():  # type: ignore[no-untyped-def]
    from pmd_domain.consultation import load_consultation
    from pmd_domain.settings import load_settings

    return load_consultation(load_settings().consultation)


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.add_column(
            sa.Column("assurance", sa.String(16), server_default="anonymous", nullable=False)
        )
        batch.add_column(sa.Column("origin", sa.String(32), nullable=True))
        batch.add_column(sa.Column("merged_into", Id, nullable=True))
        batch.create_index("ix_participants_origin", ["origin", "created_at"], unique=False)
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("channel", sa.String(16), nullable=True))
        batch.add_column(
            sa.Column("assurance", sa.String(16), server_default="anonymous", nullable=False)
        )
        batch.add_column(sa.Column("origin", sa.String(32), nullable=True))
        batch.add_column(sa.Column("discounted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("discounted_by", sa.BigInteger(), nullable=True))
        batch.create_index("ix_votes_origin", ["origin", "created_at"], unique=False)
    with op.batch_alter_table("proposals") as batch:
        for level in (*LEVELS, "discounted"):
            batch.add_column(
                sa.Column(f"supports_{level}", sa.Integer(), server_default="0", nullable=False)
            )
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("confirmed_reports", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("review_since", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "activity",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", "slot", name=op.f("pk_activity")),
    )
    op.create_index("ix_activity_kind_slot", "activity", ["kind", "slot"], unique=False)
    op.create_table(
        "verification_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("participant_id", Id, nullable=True),
        sa.Column("issued_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", Id, nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_verification_codes_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["used_by"],
            ["participants.id"],
            name=op.f("fk_verification_codes_used_by_participants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_verification_codes")),
    )
    op.create_index("ix_verification_codes_participant", "verification_codes", ["participant_id"])
    op.create_table(
        "linked_identities",
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("participant_id", Id, nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_linked_identities_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "external_id", name=op.f("pk_linked_identities")),
    )
    op.create_table(
        "kiosks",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("enrolled_by", sa.BigInteger(), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosks")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_kiosks_token_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    _levels_from_channels()


def _levels_from_channels() -> None:
    bind = op.get_bind()
    run = bind.execute
    run(
        sa.text(
            "UPDATE participants SET assurance = 'phone' "
            "WHERE channel IN ('telegram', 'whatsapp', 'demo')"
        )
    )
    run(
        sa.text(
            "UPDATE votes SET "
            "channel = (SELECT p.channel FROM participants p WHERE p.id = votes.participant_id), "
            "assurance = (SELECT p.assurance FROM participants p "
            "WHERE p.id = votes.participant_id)"
        )
    )
    consultation = _consultation()
    counted = [str(level) for level in consultation.integrity.count_levels]
    for level in LEVELS:
        run(
            sa.text(
                f"UPDATE proposals SET supports_{level} = (SELECT count(*) FROM votes v "  # noqa: S608 - fixed names
                "WHERE v.proposal_id = proposals.id AND v.verdict = 'support' "
                "AND v.assurance = :level)"
            ),
            {"level": level},
        )
    ranking = " + ".join(f"supports_{level}" for level in counted)
    run(sa.text(f"UPDATE proposals SET supports = {ranking}"))  # noqa: S608 - fixed names
    # Participants by level, for the dashboard.
    for level, count in run(
        sa.text("SELECT assurance, count(*) FROM participants GROUP BY assurance")
    ).all():
        _add(("participants", "assurance", str(level)), int(count))
    # The supports counters were of every support; they become those of level phone,
    # then the supports of other levels move to their own.
    run(sa.text("UPDATE stat_counters SET metric = 'supports.phone' WHERE metric = 'supports'"))
    from pmd_domain.clock import local_day

    moved: Counter[tuple[str, str, str]] = Counter()
    zone = consultation.exercise.timezone
    rows = run(
        sa.text(
            "SELECT v.assurance, p.pillar, v.created_at FROM votes v "
            "JOIN proposals p ON p.id = v.proposal_id "
            "WHERE v.verdict = 'support' AND v.assurance != 'phone'"
        )
    )
    for level, pillar, created in rows:
        moment = _aware(created)
        for dimension, bucket in (
            ("total", "all"),
            ("pillar", str(pillar)),
            ("day", local_day(moment, zone)),
        ):
            moved[("supports.phone", dimension, bucket)] -= 1
            moved[(f"supports.{level}", dimension, bucket)] += 1
    for key, delta in sorted(moved.items()):
        _add(key, delta)


def _aware(value):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _add(key: tuple[str, str, str], delta: int) -> None:
    if not delta:
        return
    metric, dimension, bucket = key
    op.get_bind().execute(
        sa.text(
            "INSERT INTO stat_counters (metric, dimension, bucket, value) "
            "VALUES (:metric, :dimension, :bucket, :value) "
            "ON CONFLICT (metric, dimension, bucket) "
            "DO UPDATE SET value = stat_counters.value + excluded.value"
        ),
        {"metric": metric, "dimension": dimension, "bucket": bucket, "value": delta},
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM stat_counters WHERE metric = 'participants' AND dimension = 'assurance'"
    )
    op.execute(
        "INSERT INTO stat_counters (metric, dimension, bucket, value) "
        "SELECT 'supports', dimension, bucket, sum(value) FROM stat_counters "
        "WHERE metric IN ('supports.phone', 'supports.verified', 'supports.anonymous') "
        "GROUP BY dimension, bucket"
    )
    op.execute("DELETE FROM stat_counters WHERE metric LIKE 'supports.%'")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("kiosks")
    op.drop_table("linked_identities")
    op.drop_index("ix_verification_codes_participant", table_name="verification_codes")
    op.drop_table("verification_codes")
    op.drop_index("ix_activity_kind_slot", table_name="activity")
    op.drop_table("activity")
    with op.batch_alter_table("proposals") as batch:
        for name in (
            "review_since",
            "confirmed_reports",
            "confirmed_at",
            "supports_discounted",
            "supports_anonymous",
            "supports_verified",
            "supports_phone",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("votes") as batch:
        batch.drop_index("ix_votes_origin")
        for name in ("discounted_by", "discounted_at", "origin", "assurance", "channel"):
            batch.drop_column(name)
    with op.batch_alter_table("participants") as batch:
        batch.drop_index("ix_participants_origin")
        for name in ("merged_into", "origin", "assurance"):
            batch.drop_column(name)
