"""``/metrics``: scraped and parsed by prometheus-client, refused to addresses not allowed."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from pmd_domain.services import broadcasts
from pmd_domain.services.broadcasts import Audience
from pmd_domain.settings import Settings
from tests.botapi import BotApiServer, press
from tests.e2e.citizens import STEP
from tests.e2e.hosting import wait_bot_state
from tests.e2e.test_hosting import hosted_settings
from tests.factories import make_recipients
from web.app import create_app

TOKEN = "m3tR1cs-Scrape_Token-9xQv2LpZ7wKd4Hs"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: TestClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, response.status
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def settle(database: Database, campaign_id: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with database.reading() as session:
            if (await broadcasts.progress(session, campaign_id=campaign_id)).status == "done":
                return
        await asyncio.sleep(0.1)
    raise AssertionError("campaign not sent")


async def campaign(database: Database, consultation: Consultation, *, paused: bool) -> int:
    async with database.transaction() as session:
        made = await broadcasts.create(
            session, consultation=consultation, text="Aviso", audience=Audience(), now=utcnow()
        )
        await broadcasts.confirm(session, campaign_id=made.id, now=utcnow())
        if paused:
            await broadcasts.pause(session, campaign_id=made.id)
        return made.id


async def test_metrics_of_both_channels_broadcasts_snapshot_and_database(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    settings = hosted_settings(botapi, sqlite_url, PMD_BROADCAST_RATE="50")
    database = Database(sqlite_url)
    chats = range(60_001, 60_006)
    botapi.add_users(chats)
    async with database.transaction() as session:
        await make_recipients(session, consultation, chats)
    app = create_app(settings, consultation=consultation, database=database)
    try:
        async with TestClient(TestServer(app)) as client:
            await wait_bot_state(client, "up")
            # Telegram: two steps that went through, then one whose reply could never be
            # delivered (the citizen blocked the bot): the outbox gives it up.
            chat = botapi.chat(60_100)
            await chat.run([("/start", "bienvenida"), (press("Acepto"), "Pregunta 1")], **STEP)
            botapi.block(60_100)
            await chat.say("/ayuda", require=False, quiet=0.2, timeout=5)
            await _until_unreachable(database, "60100")
            # The browser chat: three steps and one refused input.
            await client.get("/participa")
            for message in ({"kind": "start"}, {"kind": "text", "text": "hola"}) * 2:
                await client.post("/participa/mensajes", json={**message, "id": f"w{time.time()}"})
            refused = await client.post("/participa/mensajes", json=[1])
            assert refused.status == 400
            # A campaign sent to everyone, and one paused before it started.
            await settle(database, await campaign(database, consultation, paused=False))
            paused = await campaign(database, consultation, paused=True)
            # The dashboard computed its snapshot.
            assert (await client.get("/")).status == 200

            samples = await scrape(client)
    finally:
        await database.dispose()

    steps = "pmd_conversation_steps_total"
    assert value(samples, steps, channel="telegram", outcome="ok") >= 3
    assert value(samples, "pmd_replies_failed_total", channel="telegram", reason="unreachable") == 1
    assert value(samples, steps, channel="web", outcome="ok") == 4
    assert value(samples, steps, channel="web", outcome="refused") == 1
    web_count = value(samples, "pmd_conversation_step_seconds_count", channel="web")
    assert web_count == 4
    assert value(samples, "pmd_conversation_step_seconds_bucket", channel="web", le="+Inf") == 4
    assert value(samples, "pmd_conversation_step_seconds_sum", channel="web") > 0
    assert value(samples, "pmd_conversation_step_seconds_count", channel="telegram") >= 2

    audience = len(chats) + 1  # and the citizen who chatted, who blocked the bot since
    # every reachable one got it (the one who blocked the bot is skipped)
    assert value(samples, "pmd_broadcast_messages_total", outcome="sent") == audience - 1
    assert value(samples, "pmd_broadcast_send_rate") > 0
    assert (
        value(samples, "pmd_broadcast_recipients", campaign=str(paused), status="pending")
        == audience
    )

    age = value(samples, "pmd_dashboard_snapshot_age_seconds")
    assert math.isfinite(age) and 0 <= age < 60
    assert value(samples, "pmd_db_transaction_seconds_count", engine="write") > 10
    assert value(samples, "pmd_db_transaction_seconds_count", engine="read") > 0


async def test_metrics_are_refused_to_addresses_not_allowed_unless_the_token_comes(
    sqlite_url: str, consultation: Consultation
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=sqlite_url,
        PMD_METRICS_ALLOW="10.0.0.0/8, 192.168.0.7",
        PMD_METRICS_TOKEN=TOKEN,
    )
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as client:  # it connects from 127.0.0.1
        refused = await client.get("/metrics")
        assert refused.status == 404
        assert "pmd_" not in await refused.text()
        for wrong in ("Bearer nope", f"Bearer {TOKEN}x", TOKEN, f"Basic {TOKEN}"):
            assert (await client.get("/metrics", headers={"Authorization": wrong})).status == 404
        samples = await scrape(client, Authorization=f"Bearer {TOKEN}")
        assert ("pmd_broadcast_send_rate", frozenset()) in samples


@pytest.mark.parametrize(("allow", "status"), [("", 404), ("127.0.0.0/8", 200)])
async def test_the_allowed_list_decides_without_a_token(
    sqlite_url: str, consultation: Consultation, allow: str, status: int
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_METRICS_ALLOW=allow
    )
    async with TestClient(TestServer(create_app(settings, consultation=consultation))) as client:
        assert (await client.get("/metrics")).status == status


async def test_loopback_is_allowed_by_default(client: TestClient) -> None:
    samples = await scrape(client)
    assert math.isnan(value(samples, "pmd_dashboard_snapshot_age_seconds"))  # none computed


async def _until_unreachable(database: Database, chat: str) -> None:
    """Wait until the outbox gave the blocked citizen's reply up (they are then unreachable)."""
    for _ in range(100):
        async with database.reading() as session:
            reachable = await session.scalar(
                select(Participant.reachable).where(Participant.external_id == chat)
            )
        if reachable is False:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the blocked citizen was never marked unreachable")
