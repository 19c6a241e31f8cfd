"""``/difundir`` in the bot: write, preview, send, follow, pause and resume a campaign."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Campaign, StaffDraft
from tests.botapi import BotApiServer, ChatSession, press
from tests.e2e.citizens import STEP
from tests.e2e.harness import polling_bot
from tests.factories import make_recipients

ADMIN = 900
WOMEN = range(61_001, 61_009)
MEN = range(62_001, 62_005)
TEXT = "Mañana cierra la consulta: ¡vota por las propuestas de tu colonia!"


@pytest.fixture
async def database(sqlite_url: str, botapi: BotApiServer, consultation: Consultation) -> Database:
    database = Database(sqlite_url)
    botapi.add_users([*WOMEN, *MEN])
    async with database.transaction() as session:
        await make_recipients(session, consultation, WOMEN, gender="mujer")
        await make_recipients(session, consultation, MEN, gender="hombre")
    yield database  # type: ignore[misc]
    await database.dispose()


async def wait_for_text(chat: ChatSession, fragment: str, timeout: float = 15) -> str:
    """The latest bot message's text once it contains ``fragment`` (edits included)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        last = chat.last()
        text = (last.text or "") if last else ""
        if fragment in text:
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{fragment!r} never appeared; last: {text!r}")


async def campaign_status(database: Database) -> str:
    async with database.reading() as session:
        return str(await session.scalar(select(Campaign.status).order_by(Campaign.id.desc())))


async def test_an_admin_writes_previews_and_sends_a_campaign_to_an_audience(
    botapi: BotApiServer, database: Database, consultation: Consultation
) -> None:
    async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
        staff = botapi.chat(ADMIN)
        await staff.run(
            [
                ("/difundir", "Nueva difusión"),
                (TEXT, "¿Agregamos un botón con enlace?"),
                ("Participa sin enlace", "No entendí el botón"),
                ("Vota aquí | https://participa.example.mx/participa", "¿A quién se la enviamos?"),
                (press("Por género"), "Elige una opción"),
            ],
            **STEP,
        )
        replies = await staff.press("Mujer", count=3, timeout=10)
        texts = [m.text for m in replies]
        assert "Así la verán:" in texts
        preview = next(m for m in replies if m.text == TEXT)
        assert preview.data["reply_markup"]["inline_keyboard"][0][0] == {
            "text": "Vota aquí",
            "url": "https://participa.example.mx/participa",
        }
        summary = replies[-1].text or ""
        assert "Audiencia: género: Mujer" in summary and "8 personas" in summary
        assert staff.buttons() == ["📣 Enviar", "Descartar"]
        await staff.press("📣 Enviar", **STEP)
        final = await wait_for_text(staff, "terminada")
    assert "8 enviados de 8" in final
    for chat in WOMEN:
        [message] = botapi.messages_to(chat)
        assert message.text == TEXT and message.buttons == ["Vota aquí"]
    assert all(botapi.messages_to(chat) == [] for chat in MEN)
    async with database.reading() as session:
        assert await session.scalar(select(StaffDraft)) is None


async def test_pause_resume_and_discard(
    botapi: BotApiServer, database: Database, consultation: Consultation
) -> None:
    async with polling_bot(
        botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN), PMD_BROADCAST_RATE="2"
    ):
        staff = botapi.chat(ADMIN)
        await staff.run(
            [
                ("/difundir", "Nueva difusión"),
                ("Primer aviso", "¿Agregamos un botón"),
                ("/cancelar", "descarté la difusión"),
                ("/difundir", "Nueva difusión"),
                (TEXT, "¿Agregamos un botón"),
                (press("Sin botón"), "¿A quién se la enviamos?"),
                ("hola", "Usa los botones de arriba"),
                (press("Todas las personas"), "12 personas"),
                (press("📣 Enviar"), "Difusión"),
            ],
            **STEP,
        )
        await staff.press("⏸ Pausar", **STEP)
        await wait_for_text(staff, "en pausa")
        assert await campaign_status(database) == "paused"
        await asyncio.sleep(0.7)  # the sender notices within half a second
        sent = sum(len(botapi.messages_to(c)) for c in [*WOMEN, *MEN])
        await asyncio.sleep(1.5)  # nothing more goes out while paused
        assert sum(len(botapi.messages_to(c)) for c in [*WOMEN, *MEN]) == sent < 12
        assert staff.buttons() == ["▶️ Reanudar", "✖️ Cancelar"]
        await staff.press("▶️ Reanudar", **STEP)
        await wait_for_text(staff, "terminada", timeout=20)
    assert all(len(botapi.messages_to(c)) == 1 for c in [*WOMEN, *MEN])
    assert "Primer aviso" not in [m.text for c in WOMEN for m in botapi.messages_to(c)]


async def test_difundir_does_not_exist_for_citizens(
    botapi: BotApiServer, database: Database, consultation: Consultation
) -> None:
    async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
        citizen = botapi.chat(63_001)
        unknown = [m.text for m in await citizen.say("/nada", **STEP)]
        difundir = [m.text for m in await citizen.say("/difundir", **STEP)]
    assert difundir == unknown
    async with database.reading() as session:
        assert await session.scalar(select(StaffDraft)) is None


async def test_a_photo_with_its_caption(
    botapi: BotApiServer, database: Database, consultation: Consultation
) -> None:
    caption = "Así quedó el foro de Bienestar: ¡gracias por participar!"
    async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
        staff = botapi.chat(ADMIN)
        await staff.run([("/difundir", "Nueva difusión")], **STEP)
        await staff.do(botapi.user_sends_photo(ADMIN, caption=caption), **STEP)
        assert "¿Agregamos un botón" in (staff.last().text or "")  # type: ignore[union-attr]
        await staff.run([(press("Sin botón"), "¿A quién")], **STEP)
        replies = await staff.press("Todas las personas", count=3, timeout=10)
        assert "photo" in replies[1].data and replies[1].text == caption
        await staff.press("📣 Enviar", **STEP)
        await wait_for_text(staff, "terminada")
    for chat in [*WOMEN, *MEN]:
        [message] = botapi.messages_to(chat)
        assert "photo" in message.data and message.text == caption
