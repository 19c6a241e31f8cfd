"""``pmd certificate revoke``, run as a real subprocess against a real database."""

from __future__ import annotations

import asyncio

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.services import certificates
from tests.cli.test_cli import pmd
from tests.factories import make_participant, make_proposal


async def test_revoke_by_folio_and_unknown_folio(
    sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        issued = await certificates.issue(
            session, consultation=consultation, participant=person, name="Ana Pérez", now=utcnow()
        )
        folio, token = issued.folio, issued.token
    assert folio is not None
    env = {"PMD_DATABASE_URL": sqlite_url}

    unknown = await asyncio.to_thread(
        pmd, "certificate", "revoke", "C23-999999", "--reason", "Prueba", env=env
    )
    assert unknown.returncode == 2
    assert "No existe la constancia C23-999999" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    no_reason = await asyncio.to_thread(
        pmd, "certificate", "revoke", folio, "--reason", "   ", env=env
    )
    assert no_reason.returncode == 2 and "motivo" in no_reason.stderr

    done = await asyncio.to_thread(
        pmd, "certificate", "revoke", folio.lower(), "--reason", "Nombre suplantado", env=env
    )
    assert done.returncode == 0, done.stderr
    assert f"Constancia {folio} revocada" in done.stdout

    async with database.reading() as session:
        view = await certificates.verify(session, consultation=consultation, token=token)
    await database.dispose()
    assert view is not None and view.revoked
    assert view.revoke_reason == "Nombre suplantado"
