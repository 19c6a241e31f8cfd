"""A database with staff, login links and drafts upgrades to the staff_web revision:
every row kept, members keyed as before, drafts at version 0; and back down."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from pmd_domain.db.migrate import alembic_config, upgrade

JUNE = datetime(2026, 6, 14, 3, 0, tzinfo=UTC)


def test_existing_staff_and_drafts_upgrade_and_web_only_rows_need_an_email(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0007_whatsapp")
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO staff (user_id, role, name, added_by, created_at) VALUES "
                "(7001, 'moderator', 'Lucía', NULL, :at), (7002, 'analyst', NULL, 7001, :at)"
            ),
            {"at": JUNE},
        )
        db.execute(
            sa.text(
                "INSERT INTO staff_logins (token_hash, user_id, expires_at) VALUES (:h, 7001, :at)"
            ),
            {"h": "a" * 64, "at": JUNE},
        )
        db.execute(
            sa.text(
                "INSERT INTO staff_drafts (user_id, kind, data, updated_at) "
                "VALUES (7001, 'reject', '{\"proposal_id\": 3}', :at)"
            ),
            {"at": JUNE},
        )
    upgrade(url)
    with engine.connect() as db:
        members = db.execute(
            sa.text("SELECT user_id, role, name, email FROM staff ORDER BY user_id")
        ).all()
        drafts = db.execute(sa.text("SELECT user_id, kind, version FROM staff_drafts")).all()
        logins = db.execute(sa.text("SELECT user_id FROM staff_logins")).all()
        sessions = db.execute(sa.text("SELECT count(*) FROM staff_sessions")).scalar()
    assert [tuple(m) for m in members] == [
        (7001, "moderator", "Lucía", None),
        (7002, "analyst", None, None),
    ]
    assert [tuple(d) for d in drafts] == [(7001, "reject", 0)]
    assert [tuple(x) for x in logins] == [(7001,)] and sessions == 0
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO staff (user_id, role, email, created_at) "
                "VALUES (-1, 'analyst', 'ana@pachuca.gob.mx', :at)"
            ),
            {"at": JUNE},
        )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as db:
        db.execute(
            sa.text("INSERT INTO staff (user_id, role, created_at) VALUES (-2, 'analyst', :at)"),
            {"at": JUNE},
        )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO staff (user_id, role, email, created_at) "
                "VALUES (-3, 'analyst', 'ana@pachuca.gob.mx', :at)"
            ),
            {"at": JUNE},
        )
    with engine.begin() as db:
        db.execute(sa.text("DELETE FROM staff WHERE user_id < 0"))
    engine.dispose()
    command.downgrade(alembic_config(url), "0007_whatsapp")
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as db:
        kept = db.execute(sa.text("SELECT user_id FROM staff ORDER BY user_id")).all()
        assert [k[0] for k in kept] == [7001, 7002]
        assert "staff_sessions" not in sa.inspect(db).get_table_names()
    engine.dispose()
