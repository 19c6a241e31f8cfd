"""Personal data at rest: file permissions, and nothing of an erased person left on disk."""

from __future__ import annotations

import stat
from pathlib import Path

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade_async
from pmd_domain.db.models import Certificate
from pmd_domain.services import erasure
from tests.factories import make_certificate, make_participant, make_proposal

NAME = "Xochiquetzal Ramírez Zúñiga"
PROBLEM = "En la calle Tlacaélel 42 vive doña Eufrosina y se inunda su casa."


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_files_are_for_their_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    url = f"sqlite+aiosqlite:///{folder}/pmd.sqlite3"
    await upgrade_async(url)
    database = Database(url)
    try:
        async with database.transaction() as session:
            await session.execute(Certificate.__table__.select())
        files = sorted(folder.iterdir())
        assert {p.name for p in files} >= {"pmd.sqlite3", "pmd.sqlite3-wal", "pmd.sqlite3-shm"}
        modes = {path.name: _mode(path) for path in files}
    finally:
        await database.dispose()
    assert _mode(folder) == 0o700
    assert set(modes.values()) == {0o600}, modes


async def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.sqlite3"
    await upgrade_async(url)
    (tmp_path / "old.sqlite3").chmod(0o644)
    await upgrade_async(url)
    assert _mode(tmp_path / "old.sqlite3") == 0o600


async def test_nothing_of_an_erased_person_stays_in_the_files(
    sqlite_url: str, consultation: Consultation
) -> None:
    privacy = consultation.privacy.model_copy(update={"keep_anonymous_proposals": False})
    consultation = consultation.model_copy(update={"privacy": privacy})
    path = Path(sqlite_url.removeprefix("sqlite+aiosqlite:///"))
    database = Database(sqlite_url)
    try:
        async with database.transaction() as session:
            person = await make_participant(session, consultation, gender="mujer")
            await make_proposal(session, consultation, person, problem=PROBLEM, publish=False)
            make_certificate(session, person, name=NAME, folio="C-000001", token="t" * 32)
        for part in (NAME, PROBLEM):
            assert any(part.encode() in p.read_bytes() for p in path.parent.glob("pmd.sqlite3*"))
        # a reader is around, as when the dashboard refreshes
        async with database.reading() as session:
            await session.execute(Certificate.__table__.select())
        async with database.transaction() as session:
            await erasure.erase(
                session, consultation=consultation, participant_id=person.id, now=utcnow()
            )
        for file in path.parent.glob("pmd.sqlite3*"):
            content = file.read_bytes()
            for part in (NAME, PROBLEM):
                assert part.encode() not in content, (file.name, part)
        assert (path.parent / "pmd.sqlite3-wal").stat().st_size == 0
    finally:
        await database.dispose()
