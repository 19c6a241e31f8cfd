"""A database with data upgrades to the accountability revision: search text, first
publication and the exposure histogram filled from what was there."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from pmd_domain.db.migrate import upgrade
from pmd_domain.search import search_key


def test_existing_proposals_get_their_search_text_publication_and_exposure(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0004_operations")
    engine = sa.create_engine(f"sqlite:///{path}")
    june = datetime(2023, 6, 14, 3, 0, tzinfo=UTC)
    moderated = datetime(2023, 6, 15, 18, 30, tzinfo=UTC)
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO participants (id, channel, external_id, consent_at, notice_version, "
                "language, muted, reachable, supports_given, proposals_made, created_at) "
                "VALUES (1, 'telegram', '11', :at, 'v1', 'es', 0, 1, 0, 3, :at)"
            ),
            {"at": june},
        )
        rows = [
            (1, "published", 7, "Iluminación en la PEÑITA", None),
            (2, "published", 7, "Baches en la avenida", "Calles sin baches en 2040"),
            (3, "pending", 2, "Árboles para el parque", None),
            (4, "published", 1500, "Agua diario", None),
        ]
        for pid, status, views, problem, vision in rows:
            db.execute(
                sa.text(
                    "INSERT INTO proposals (id, folio, participant_id, pillar, topic, problem, "
                    "proposal, vision, status, views, supports, reports, submitted_at, "
                    "moderated_at) VALUES (:id, :folio, 1, 'servicios', 'agua', :problem, "
                    "'Arreglarlo pronto', :vision, :status, :views, 0, 0, :at, :mod)"
                ),
                {
                    "id": pid,
                    "folio": f"PMD23-{pid:06d}",
                    "problem": problem,
                    "vision": vision,
                    "status": status,
                    "views": views,
                    "at": june,
                    "mod": moderated,
                },
            )
    upgrade(url)
    with engine.connect() as db:
        stored = db.execute(
            sa.text("SELECT id, search_text, published_at FROM proposals ORDER BY id")
        ).all()
        histogram = dict(
            db.execute(
                sa.text("SELECT bucket, value FROM stat_counters WHERE metric = 'exposure'")
            ).all()
        )
    engine.dispose()
    assert stored[0].search_text == search_key(
        "PMD23-000001", "Iluminación en la PEÑITA", "Arreglarlo pronto"
    )
    assert "penita" in stored[0].search_text and "2040" in stored[1].search_text
    assert [row.published_at is not None for row in stored] == [True, True, False, True]
    assert str(stored[0].published_at).startswith("2023-06-15 18:30")
    assert histogram == {"7": 2, "1000": 1}  # the pending one is not public
