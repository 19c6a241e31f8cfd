"""``pmd codes issue``: a sheet of code cards; the database keeps only the codes' hashes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pypdfium2
from sqlalchemy import select

from pmd_domain.db import Database
from pmd_domain.db.models import AuditEntry, VerificationCode
from pmd_domain.services import verification
from tests.cli.test_cli import pmd

SECRET = "cards-secret-for-tests-0123456789"
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\b")


def _texts(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


async def test_issue_prints_cards_and_stores_only_hashes(sqlite_url: str, tmp_path: Path) -> None:
    output = tmp_path / "tarjetas.pdf"
    env = {
        "PMD_DATABASE_URL": sqlite_url,
        "PMD_SECRET_KEY": SECRET,
        "PMD_PUBLIC_URL": "https://participa.pachuca.gob.mx",
    }
    done = await asyncio.to_thread(
        pmd, "codes", "issue", "--count", "12", "--output", str(output), env=env
    )
    assert done.returncode == 0, done.stderr
    assert "12 códigos de verificación" in done.stdout
    pages = _texts(output.read_bytes())
    assert len(pages) == 2  # ten cards a page
    shown = [code for text in pages for code in CODE.findall(text)]
    assert len(shown) == len(set(shown)) == 12
    assert "https://participa.pachuca.gob.mx/participa" in pages[0]
    assert "Tengo un código" in pages[0]
    database = Database(sqlite_url)
    try:
        async with database.reading() as session:
            rows = list(await session.scalars(select(VerificationCode)))
            [entry] = await session.scalars(select(AuditEntry))
    finally:
        await database.dispose()
    stored = {row.code_hash for row in rows}
    assert stored == {verification.code_hash(SECRET, code.replace("-", "")) for code in shown}
    assert not any(code.replace("-", "") in digest for code in shown for digest in stored)
    assert {row.method for row in rows} == {"in_person"}
    assert (entry.actor, entry.action, entry.details["count"]) == ("cli", "codes.issue", 12)

    again = await asyncio.to_thread(
        pmd, "codes", "issue", "--count", "2", "--output", str(output), env=env
    )
    assert again.returncode == 2 and "ya existe" in again.stderr
    none = await asyncio.to_thread(
        pmd, "codes", "issue", "--count", "0", "--output", str(tmp_path / "x.pdf"), env=env
    )
    assert none.returncode == 2 and "--count" in none.stderr and "Traceback" not in none.stderr


async def test_codes_that_could_not_be_used_or_kept_are_not_issued(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {
        "PMD_DATABASE_URL": sqlite_url,
        "PMD_SECRET_KEY": SECRET,
        "PMD_PUBLIC_URL": "https://participa.pachuca.gob.mx",
    }
    for days in ("0", "-3", "400"):
        # Cards already expired (or that never expire) are refused, not printed.
        refused = await asyncio.to_thread(
            pmd, "codes", "issue", "--count", "2", "--output", str(tmp_path / "a.pdf"),
            "--days", days, env=env,
        )  # fmt: skip
        assert refused.returncode == 2, days
        assert "--days debe estar entre 1 y 366." in refused.stderr, days
    # A folder that does not exist: told in Spanish before any code is issued (the
    # codes exist only in the file, so codes without one are lost).
    nowhere = tmp_path / "no-existe" / "tarjetas.pdf"
    lost = await asyncio.to_thread(
        pmd, "codes", "issue", "--count", "2", "--output", str(nowhere), env=env
    )
    assert lost.returncode == 2
    assert f"la carpeta {nowhere.parent} no existe" in lost.stderr
    assert "Errno" not in lost.stderr and "Traceback" not in lost.stderr
    database = Database(sqlite_url)
    try:
        async with database.reading() as session:
            assert list(await session.scalars(select(VerificationCode))) == []
            assert list(await session.scalars(select(AuditEntry))) == []
    finally:
        await database.dispose()
