"""An existing database upgrades cleanly to the privacy revision, its data carried over."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pmd_domain.db.migrate import upgrade_async

ROWS = [
    "INSERT INTO participants (id, channel, external_id, consent_at, notice_version, language,"
    " gender, age_group, sector, muted, reachable, supports_given, proposals_made, created_at)"
    " VALUES (1, 'telegram', '42', '2023-06-15 10:00:00', 'v1', 'es', 'mujer', '18_29', NULL,"
    " 0, 1, 0, 1, '2023-06-15 10:00:00')",
    "INSERT INTO proposals (id, folio, participant_id, pillar, topic, problem, proposal, status,"
    " views, supports, reports, submitted_at) VALUES (1, 'PMD23-000001', 1, 'servicios', 'agua',"
    " 'Falta agua', 'Reparar fugas', 'published', 0, 0, 0, '2023-06-15 10:05:00')",
    "INSERT INTO stat_counters VALUES ('participants', 'total', 'all', 1)",
    "INSERT INTO stat_counters VALUES ('proposals', 'total', 'all', 1)",
]


async def test_an_existing_database_gets_frozen_answers_and_a_change_count(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url, "0003_staff_drafts")
    with sqlite3.connect(path) as conn:
        for row in ROWS:
            conn.execute(row)
    await upgrade_async(url)
    with sqlite3.connect(path) as conn:
        counted = conn.execute("SELECT counted_as FROM proposals").fetchone()[0]
        changes = conn.execute(
            "SELECT value FROM stat_counters WHERE metric = 'changes'"
        ).fetchone()[0]
        batch = conn.execute("SELECT id, version, published_at FROM published_figures").fetchall()
    assert '"gender": "mujer"' in counted.replace('":"', '": "') and "18_29" in counted
    assert changes == 2
    assert batch == [(1, 0, None)]
