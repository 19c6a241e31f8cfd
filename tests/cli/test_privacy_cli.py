"""``pmd consultation check`` lists the sources; ``pmd privacy purge`` ends the retention period."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from pmd_domain.consultation import load_consultation
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade
from pmd_domain.db.models import Participant
from tests.cli.test_cli import pmd
from tests.domain.test_consultation import DEFAULT
from tests.factories import make_participant


def test_check_lists_the_campaign_sources_and_the_privacy_terms() -> None:
    result = pmd("consultation", "check", str(DEFAULT))
    assert result.returncode == 0, result.stderr
    assert "fb_alcalde: Facebook del Presidente Municipal" in result.stdout
    assert "«otra»" in result.stdout
    assert "365 días después del cierre; edad mínima 18 años" in result.stdout


def test_check_refuses_an_age_group_under_the_minimum_age(tmp_path: Path) -> None:
    wrong = tmp_path / "menores.toml"
    text = DEFAULT.read_text("utf-8").replace(
        '  { key = "18_29",',
        '  { key = "menor_18", max_age = 17, label = "Menos de 18 años" },\n  { key = "18_29",',
        1,
    )
    wrong.write_text(text, "utf-8")
    result = pmd("consultation", "check", str(wrong))
    assert result.returncode == 1
    assert "menor_18" in result.stderr and "edad mínima" in result.stderr


async def _one_participant(url: str, consultation_path: Path) -> None:
    consultation = load_consultation(consultation_path)
    database = Database(url)
    try:
        async with database.transaction() as session:
            await make_participant(session, consultation, external_id="4242", gender="mujer")
    finally:
        await database.dispose()


async def _external_ids(url: str) -> list[str | None]:
    database = Database(url)
    try:
        async with database.reading() as session:
            return list(await session.scalars(select(Participant.external_id)))
    finally:
        await database.dispose()


def test_purge_says_what_it_would_do_then_does_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/pmd.sqlite3"
    past = tmp_path / "pasada.toml"
    text = DEFAULT.read_text("utf-8").replace("retention_days = 365", "retention_days = 30", 1)
    past.write_text(text, "utf-8")  # the packaged exercise closed in June 2023
    upgrade(url)
    asyncio.run(_one_participant(url, past))
    env = {"PMD_DATABASE_URL": url, "PMD_CONSULTATION": str(past)}
    dry = pmd("privacy", "purge", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "Se borrarían o anonimizarían (plazo vencido el 2023-07-25" in dry.stdout
    assert "1 participantes" in dry.stdout
    assert asyncio.run(_external_ids(url)) == ["4242"]
    done = pmd("privacy", "purge", env=env)
    assert done.returncode == 0, done.stderr
    assert "Se borraron o anonimizaron" in done.stdout
    assert asyncio.run(_external_ids(url)) == [None]
    again = pmd("privacy", "purge", env=env)
    assert "0 participantes" in again.stdout


def test_purge_before_the_date_does_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/pmd.sqlite3"
    future = tmp_path / "futura.toml"
    text = DEFAULT.read_text("utf-8").replace(
        "closes = 2023-06-25T23:59:59", "closes = 2099-06-25T23:59:59"
    )
    future.write_text(text, "utf-8")
    assert pmd("db", "upgrade", env={"PMD_DATABASE_URL": url}).returncode == 0
    result = pmd("privacy", "purge", env={"PMD_DATABASE_URL": url, "PMD_CONSULTATION": str(future)})
    assert result.returncode == 0, result.stderr
    assert "Nada que borrar todavía" in result.stdout and "2100-06-25" in result.stdout
