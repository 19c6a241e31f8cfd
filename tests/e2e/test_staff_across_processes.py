"""A staff flow started behind one process and finished behind another.

Two web processes in webhook mode share one database behind a load balancer that
sends each update where the test says. A moderator added (through process A) after
both started begins a rejection in A and types its reason in B; a campaign is begun
in B, written in A and sent from B. No process keeps a list of staff of its own: the
staff member's next message is routed by the draft stored in the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Campaign, Proposal, StaffDraft
from pmd_domain.settings import Settings
from tests.botapi import DEFAULT_TOKEN, BotApiServer, press
from tests.e2e.citizens import STEP
from tests.e2e.hosting import free_port, wait_bot_state
from tests.factories import make_participant, make_proposal, make_recipients
from web.app import create_app
from web.telegram import SECRET_HEADER, WEBHOOK_PATH

SECRET = "staff-cluster-secret"
ADMIN, MODERATOR = 9501, 9502
CITIZENS = range(95_101, 95_106)
REASON = "Ya existe una propuesta igual; apóyala en su lugar."


class Switch:
    """A load balancer that sends every update to the backend ``target``."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.target = 0
        self.seen: list[int] = []  # the backend of each update
        self.app = web.Application()
        self.app.router.add_post(WEBHOOK_PATH, self.forward)

    async def forward(self, request: web.Request) -> web.Response:
        headers = {
            "Content-Type": "application/json",
            SECRET_HEADER: request.headers.get(SECRET_HEADER, ""),
        }
        self.seen.append(self.target)
        async with (
            ClientSession() as http,
            http.post(
                self.backends[self.target] + WEBHOOK_PATH,
                data=await request.read(),
                headers=headers,
            ) as response,
        ):
            return web.Response(status=response.status)


@asynccontextmanager
async def backend(
    botapi: BotApiServer, database_url: str, public: str, consultation: Consultation
) -> AsyncIterator[TestClient]:
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=database_url,
        PMD_PUBLIC_URL=public,
        PMD_ADMIN_IDS=str(ADMIN),
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=botapi.url,
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    app = create_app(settings, consultation=consultation, migrate=False)
    async with TestClient(TestServer(app)) as client:
        await wait_bot_state(client, "up")
        yield client


async def test_a_staff_flow_started_in_one_process_is_finished_in_the_other(
    botapi: BotApiServer, database_url: str, consultation: Consultation
) -> None:
    database = Database(database_url)
    botapi.add_users([*CITIZENS, 95_100])
    async with database.transaction() as session:
        author = await make_participant(session, consultation, external_id="95100")
        waiting = await make_proposal(session, consultation, author, publish=False)
        await make_recipients(session, consultation, CITIZENS)
    switch = Switch()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(TestServer(switch.app, port=port))
            for _ in range(2):
                client = await stack.enter_async_context(
                    backend(botapi, database_url, public, consultation)
                )
                switch.backends.append(str(client.make_url("")).rstrip("/"))

            # Process A: the admin adds a moderator (process B started before that).
            admin, moderator = botapi.chat(ADMIN), botapi.chat(MODERATOR)
            await admin.run([(f"/staff agregar {MODERATOR} moderador", "moderación")], **STEP)
            await moderator.run(
                [
                    ("/moderar", waiting.folio or ""),
                    (press("❌ Rechazar"), f"¿Por qué rechazas {waiting.folio}?"),
                ],
                **STEP,
            )
            # Process B takes the typed reason: it is the rejection's, not the citizen's.
            switch.target = 1
            replies = await moderator.say(REASON, **STEP)
            assert f"{waiting.folio} rechazada" in (replies[-1].text or "")

            # A campaign begun in B, written in A, sent from B.
            await admin.run([("/difundir", "Escribe el mensaje")], **STEP)
            switch.target = 0
            await admin.run([("Mañana cierra la consulta.", "botón")], **STEP)
            await admin.run([(press("Sin botón"), "¿A quién")], **STEP)
            switch.target = 1
            await admin.run([(press("Todas las personas"), "Se enviará a")], **STEP)
            await admin.run([(press("📣 Enviar"), "Difusión")], **STEP)
            for chat in CITIZENS:
                await botapi.wait_for_message(
                    chat, lambda m: m.text == "Mañana cierra la consulta.", timeout=15
                )
            await asyncio.sleep(0.2)
        assert set(switch.seen) == {0, 1}
        async with database.reading() as session:
            stored = await session.get(Proposal, waiting.id)
            campaign = await session.scalar(select(Campaign))
            drafts = list(await session.scalars(select(StaffDraft)))
        assert stored is not None and (stored.status, stored.moderation_reason) == (
            "rejected",
            REASON,
        )
        assert campaign is not None and campaign.created_by == ADMIN
        assert drafts == []
    finally:
        await database.dispose()
