"""Two web processes in webhook mode behind a load balancer, sharing one database.

The load balancer alternates updates between the two, and sends every third update
to both (as when Telegram redelivers after a timeout): the conversation stays
consistent and no update is handled twice.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Proposal
from pmd_domain.settings import Settings
from tests.botapi import DEFAULT_TOKEN, BotApiServer, press
from tests.e2e.citizens import (
    PROBLEM,
    PROPOSAL,
    STEP,
    UP_TO_PROBLEM,
    count,
    onboard_quickly,
    proposals_of,
)
from tests.e2e.hosting import free_port, wait_bot_state
from web.app import create_app
from web.telegram import SECRET_HEADER, WEBHOOK_PATH

SECRET = "cluster-secret"
CHAT = 9401


class Balancer:
    """Round-robin to the backends; every third update also goes to the other one."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.turn = itertools.count()
        self.deliveries: list[tuple[int, int]] = []  # (update_id, backend index)
        self.app = web.Application()
        self.app.router.add_post(WEBHOOK_PATH, self.forward)

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        update_id = int((await request.json())["update_id"])
        headers = {
            "Content-Type": "application/json",
            SECRET_HEADER: request.headers.get(SECRET_HEADER, ""),
        }
        turn = next(self.turn)
        targets = [turn % 2] if turn % 3 else [0, 1]
        async with ClientSession() as http:

            async def post(index: int) -> int:
                self.deliveries.append((update_id, index))
                url = self.backends[index] + WEBHOOK_PATH
                async with http.post(url, data=body, headers=headers) as response:
                    return response.status

            statuses = await asyncio.gather(*(post(i) for i in targets))
        return web.Response(status=max(statuses))


@asynccontextmanager
async def backend(
    botapi: BotApiServer, database_url: str, public: str, consultation: Consultation
) -> AsyncIterator[TestClient]:
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=database_url,
        PMD_PUBLIC_URL=public,
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=botapi.url,
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    app = create_app(settings, consultation=consultation, migrate=False)
    async with TestClient(TestServer(app)) as client:
        await wait_bot_state(client, "up")
        yield client


async def test_two_processes_alternate_on_one_database(
    botapi: BotApiServer, database_url: str, consultation: Consultation
) -> None:
    balancer = Balancer()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(TestServer(balancer.app, port=port))
        for _ in range(2):
            client = await stack.enter_async_context(
                backend(botapi, database_url, public, consultation)
            )
            balancer.backends.append(str(client.make_url("")).rstrip("/"))
        assert botapi.webhook is not None and botapi.webhook["url"] == public + WEBHOOK_PATH

        chat = botapi.chat(CHAT)
        await onboard_quickly(chat)
        await chat.run(
            [
                *UP_TO_PROBLEM,
                (PROBLEM, "¿Qué propones?"),
                (PROPOSAL, "2040"),
                (press("Omitir"), "Revisa"),
                (press("Enviar"), "PMD23-"),
            ],
            **STEP,
        )
        await asyncio.sleep(0.3)  # let any duplicate finish (it must not answer)

    # Both processes took part, some updates were delivered twice ...
    assert {index for _, index in balancer.deliveries} == {0, 1}
    update_ids = [u for u, _ in balancer.deliveries]
    assert len(update_ids) > len(set(update_ids))
    # ... and each update was answered once: one bot message per citizen action.
    texts = botapi.texts_to(CHAT)
    assert sum("¿Qué propones?" in (t or "") for t in texts) == 1
    assert sum("PMD23-" in (t or "") for t in texts) == 1
    assert len(texts) == len(set(update_ids))
    database = Database(database_url)
    try:
        [proposal] = await proposals_of(database, CHAT)
        assert (proposal.problem, proposal.proposal) == (PROBLEM, PROPOSAL)
        assert await count(database, Proposal) == 1
    finally:
        await database.dispose()
