"""Migrations: the models match them, and an existing database upgrades with its data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from pmd_domain.db.migrate import upgrade


def _sync_url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_existing_participants_and_supports_get_their_level_from_their_channel(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}", "0003_staff_drafts")
    engine = sa.create_engine(_sync_url(path))
    june = datetime(2023, 6, 14, 3, 0, tzinfo=UTC)  # 13 June in Pachuca
    with engine.begin() as db:
        people = [(1, "telegram", "11"), (2, "web", "aa"), (3, "telegram", "12")]
        for pid, channel, ext in people:
            db.execute(
                sa.text(
                    "INSERT INTO participants (id, channel, external_id, consent_at, "
                    "notice_version, language, muted, reachable, supports_given, "
                    "proposals_made, created_at) VALUES (:id, :channel, :ext, :at, 'v1', 'es', "
                    "0, 1, 0, 0, :at)"
                ),
                {"id": pid, "channel": channel, "ext": ext, "at": june},
            )
        db.execute(
            sa.text(
                "INSERT INTO proposals (id, folio, participant_id, pillar, topic, problem, "
                "proposal, status, views, supports, reports, submitted_at) VALUES "
                "(1, 'PMD23-000001', 3, 'servicios', 'agua', 'p', 'q', 'published', 5, 2, 0, :at)"
            ),
            {"at": june},
        )
        for pid in (1, 2):
            db.execute(
                sa.text(
                    "INSERT INTO votes (proposal_id, participant_id, verdict, created_at) "
                    "VALUES (1, :pid, 'support', :at)"
                ),
                {"pid": pid, "at": june},
            )
        for dimension, bucket in (("total", "all"), ("pillar", "servicios"), ("day", "2023-06-13")):
            db.execute(
                sa.text("INSERT INTO stat_counters VALUES ('supports', :dimension, :bucket, 2)"),
                {"dimension": dimension, "bucket": bucket},
            )
    upgrade(f"sqlite+aiosqlite:///{path}")
    with engine.connect() as db:
        levels = dict(db.execute(sa.text("SELECT id, assurance FROM participants")).all())
        assert levels == {1: "phone", 2: "anonymous", 3: "phone"}
        votes = dict(
            db.execute(
                sa.text("SELECT participant_id, assurance || ':' || channel FROM votes")
            ).all()
        )
        assert votes == {1: "phone:telegram", 2: "anonymous:web"}
        proposal = db.execute(
            sa.text(
                "SELECT supports, supports_phone, supports_verified, supports_anonymous, "
                "supports_discounted FROM proposals"
            )
        ).one()
        assert tuple(proposal) == (1, 1, 0, 1, 0)  # the ranking counts the phone one only
        counters = {
            (m, d, b): v
            for m, d, b, v in db.execute(sa.text("SELECT * FROM stat_counters")).all()
            if v
        }
    engine.dispose()
    assert counters == {
        ("participants", "assurance", "phone"): 2,
        ("participants", "assurance", "anonymous"): 1,
        ("supports.phone", "total", "all"): 1,
        ("supports.phone", "pillar", "servicios"): 1,
        ("supports.phone", "day", "2023-06-13"): 1,
        ("supports.anonymous", "total", "all"): 1,
        ("supports.anonymous", "pillar", "servicios"): 1,
        ("supports.anonymous", "day", "2023-06-13"): 1,
        # the published proposal in the exposure histogram (0005_accountability)
        ("exposure", "views", "5"): 1,
    }
