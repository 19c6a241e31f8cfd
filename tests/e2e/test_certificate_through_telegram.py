"""The certificate as a citizen and a verifier live it: the PDF the bot sends, its QR
code read from the rendered page, the verification page, then a revocation."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant
from pmd_domain.services import certificates
from pmd_domain.settings import Settings
from tests.botapi import DEFAULT_TOKEN, BotApiServer, press
from tests.e2e.citizens import PROBLEM, PROPOSAL, STEP, UP_TO_PROBLEM, onboard_quickly
from tests.e2e.hosting import free_port
from tests.qr import qr_texts
from web.app import create_app
from web.certificates import VERIFICATION, PageCache
from web.keys import DATABASE

NAME = "María Fernanda Ortiz-Núñez"


async def test_the_qr_of_the_pdf_sent_by_the_bot_proves_the_participation(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    port = free_port()
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=sqlite_url,
        PMD_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=botapi.url,
    )
    app = create_app(settings, consultation=consultation)
    app[VERIFICATION].cache = PageCache(ttl=0.3)
    async with TestServer(app, host="127.0.0.1", port=port), aiohttp.ClientSession() as http:
        chat = botapi.chat(8110)
        await chat.say("/start", count=1, timeout=20)  # the bot is up once it answers
        await onboard_quickly(chat)
        await chat.run(
            [
                *UP_TO_PROBLEM,
                (PROBLEM, "¿Qué propones?"),
                (PROPOSAL, "2040"),
                (press("Omitir"), "Revisa"),
                (press("Enviar"), "PMD23-"),
                (press("Mi constancia"), "nombre completo"),
            ],
            **STEP,
        )
        _, document = await chat.say(NAME, count=2, timeout=30)
        assert document.file_bytes is not None

        # A verifier scans the printed code: what the phone reads is a link to this site.
        [url] = qr_texts(bytes(document.file_bytes), dpi=150)
        assert url.startswith(f"http://127.0.0.1:{port}/constancias/")
        async with http.get(url) as response:
            page = await response.text()
            assert response.status == 200
        assert "Constancia válida" in page
        assert NAME in page
        assert "Alumbrado público" in page
        async with app[DATABASE].reading() as session:
            person = await session.scalar(
                select(Participant).where(Participant.external_id == "8110")
            )
            assert person is not None
            issued = await certificates.get_for(session, participant_id=person.id)
        assert issued is not None and issued.folio is not None
        assert issued.folio in page

        async with app[DATABASE].transaction() as session:
            await certificates.revoke(
                session, folio=issued.folio, reason="Emitida por error", now=utcnow()
            )
        await asyncio.sleep(0.4)  # the page cache of this test's app keeps pages 0.3 s
        async with http.get(url) as response:
            revoked = await response.text()
        assert "revocada" in revoked.lower()
