"""/estadisticas, /panel, /revocar and /staff through the real python-telegram-bot."""

from __future__ import annotations

import re

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Certificate
from pmd_domain.services import certificates, staff, staff_login, votes
from tests.botapi import BotApiServer
from tests.e2e.harness import PUBLIC, polling_bot
from tests.factories import make_participant, make_proposal

ADMIN, ANALYST, MODERATOR = 7001, 7003, 7002
WAIT = {"quiet": 0.15, "timeout": 10.0}


async def test_figures_for_staff(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        authors = [await make_participant(session, consultation) for _ in range(3)]
        published = await make_proposal(
            session, consultation, authors[0], pillar="bienestar", topic="salud"
        )
        await make_proposal(session, consultation, authors[1], publish=False)
        await make_proposal(session, consultation, authors[2], publish=False)
        await votes.judge(
            session,
            consultation=consultation,
            participant=authors[1],
            proposal_id=published.id,
            verdict="support",
            now=utcnow(),
        )
    try:
        async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
            [answer] = await botapi.chat(ADMIN).say("/estadisticas", **WAIT)
    finally:
        await database.dispose()
    text = answer.text or ""
    assert "Participantes: 3" in text
    assert "Propuestas: 3 (1 publicadas)" in text
    assert "Apoyos: 1" in text
    assert "En espera de moderación: 2" in text
    # three people: their count is reserved even for staff, who may forward the message
    assert "participantes nuevos reservado · propuestas 3 · apoyos 1" in text
    assert "1. Bienestar social: 1 · 1" in text
    assert "2. Servicios públicos y desarrollo sostenible: 2 · 0" in text


async def test_the_panel_link_logs_in_once(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        await staff.add(session, user_id=ANALYST, role="analyst", now=utcnow())
    try:
        async with polling_bot(botapi, database, consultation):
            [answer] = await botapi.chat(ANALYST).say("/panel", **WAIT)
    finally:
        await database.dispose()
    text = answer.text or ""
    assert "Sirve una sola vez y solo 15 minutos" in text
    found = re.search(re.escape(f"{PUBLIC}/panel/entrar/") + r"([A-Za-z0-9_-]+)", text)
    assert found is not None
    assert answer.data.get("link_preview_options") == {"is_disabled": True}
    async with database.transaction() as session:
        assert await staff_login.redeem(session, token=found.group(1), now=utcnow()) == (
            ANALYST,
            "analyst",
        )
    await database.dispose()


async def test_revoking_a_certificate_in_the_bot(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        await staff.add(session, user_id=MODERATOR, role="moderator", now=utcnow())
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        issued = await certificates.issue(
            session, consultation=consultation, participant=person, name="Ana Pérez", now=utcnow()
        )
        folio = issued.folio
    assert folio is not None
    try:
        async with polling_bot(botapi, database, consultation):
            chat = botapi.chat(MODERATOR)
            await chat.run(
                [
                    ("/revocar", "Uso: /revocar FOLIO motivo"),
                    (f"/revocar {folio}", "Uso: /revocar FOLIO motivo"),
                    ("/revocar C23-999999 Nombre equivocado", "No existe la constancia C23-999999"),
                    (
                        f"/revocar {folio.lower()} Se emitió con un nombre equivocado",
                        f"Constancia {folio} revocada",
                    ),
                ],
                **WAIT,
            )
    finally:
        await database.dispose()
    async with database.reading() as session:
        record = await session.get(Certificate, issued.id)
    assert record is not None and record.revoked_at is not None
    assert record.revoke_reason == "Se emitió con un nombre equivocado"
    await database.dispose()


async def test_admins_manage_the_staff_in_the_bot(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
            chat = botapi.chat(ADMIN)
            replies = await chat.run(
                [
                    (
                        f"/staff agregar {ANALYST} analista Luis Ramírez",
                        "ahora tiene el rol de análisis",
                    ),
                    (f"/staff agregar {MODERATOR} moderador", "rol de moderación"),
                    (f"/staff agregar {MODERATOR} admin", "rol de administración"),
                    ("/staff", "Equipo (3):"),
                    (f"/staff quitar {ADMIN}", "admin por configuración (PMD_ADMIN_IDS)"),
                    (f"/staff agregar {ADMIN} analista", "admin por configuración"),
                    ("/staff agregar 12 jefe", "Uso: /staff"),
                    ("/staff quitar doce", "Uso: /staff"),
                    ("/staff hola", "Uso: /staff"),
                    (f"/staff quitar {ANALYST}", f"{ANALYST} ya no es parte del equipo"),
                    (f"/staff quitar {ANALYST}", f"{ANALYST} no estaba en el equipo"),
                ],
                **WAIT,
            )
            listing = replies[3][0].text or ""
            assert f"{ADMIN} · administración · por configuración (PMD_ADMIN_IDS)" in listing
            assert f"{ANALYST} · análisis · Luis Ramírez" in listing
            assert f"{MODERATOR} · administración" in listing
            # The new admin cannot remove themselves (nobody would be left to undo it).
            await botapi.chat(MODERATOR).run(
                [(f"/staff quitar {MODERATOR}", "No puedes quitarte a ti")], **WAIT
            )
    finally:
        await database.dispose()
    async with database.reading() as session:
        assert await staff.role_of(session, user_id=MODERATOR, admin_ids=[]) == "admin"
        assert await staff.role_of(session, user_id=ANALYST, admin_ids=[]) is None
    await database.dispose()
