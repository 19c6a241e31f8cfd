"""One person, one voice, tried as a hostile visitor would, against the real server over HTTP.

The browser side is the real aiohttp application on a socket, driven through its JSON
chat endpoint with a fresh cookie jar per identity (a new browser each time); the
Telegram side is the real python-telegram-bot, hosted in that application, talking to
the local Bot API server. Public figures are read from ``/api/estadisticas``, twice
each time (its snapshot is stale-while-revalidate).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from tests.botapi import BotApiServer
from tests.e2e.citizens import STEP, onboard_quickly
from tests.e2e.harness import polling_bot
from tests.e2e.hosting import wait_bot_state
from tests.e2e.test_hosting import hosted_settings
from tests.factories import judge, make_participant, make_proposal
from tests.web.conftest import serving, web_settings
from tests.web.test_webchat import WebChat
from web.app import create_app
from web.keys import DATABASE

IDENTITIES = 25


@pytest.fixture
async def web(sqlite_url: str, consultation: Consultation) -> AsyncIterator[TestClient]:
    """The real application (no bot) on a socket, and an HTTP client."""
    async with serving(web_settings(sqlite_url), consultation) as client:
        yield client


async def _figures(client: TestClient) -> dict[str, Any]:
    """The public figures as they are now: polled until a snapshot computed after asking.

    The snapshot is stale-while-revalidate: a request may get the previous one and
    start a refresh, so a reader polls again (here, until it is newer than the question).
    """
    asked = utcnow()
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        response = await client.get("/api/estadisticas")
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        if datetime.fromisoformat(body["generated_at"]) >= asked:
            return body
        assert asyncio.get_running_loop().time() < deadline, "the figures never refreshed"
        await asyncio.sleep(0.25)


def _count(figures: dict[str, Any], folio: str) -> int:
    for items in figures["top"].values():
        for item in items:
            if item["folio"] == folio:
                return int(item["supports"])
    raise AssertionError(f"{folio} is not among the published proposals shown")


async def _new_browser(client: TestClient) -> WebChat:
    """A browser that never came before: no cookie, the page, the notice accepted."""
    client.session.cookie_jar.clear()
    chat = WebChat(client)
    await chat.open()
    await chat.start("fb_alcalde")
    await chat.press("Acepto")
    while "Prefiero no decir" in chat.labels():
        await chat.press("Prefiero no decir")
    return chat


async def _seed(client: TestClient, consultation: Consultation, *, supports: int) -> str:
    """A published proposal with ``supports`` supports from Telegram citizens; its folio."""
    async with client.server.app[DATABASE].transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        for _ in range(supports):
            person = await make_participant(session, consultation)
            await judge(session, consultation, person, record.id)
    assert record.folio is not None
    return record.folio


async def test_twenty_five_identities_from_one_address_barely_move_the_public_count(
    web: TestClient, consultation: Consultation
) -> None:
    client = web
    folio = await _seed(client, consultation, supports=1)
    before = await _figures(client)
    assert _count(before, folio) == 1
    supported = 0
    for _ in range(IDENTITIES):
        chat = await _new_browser(client)
        if "¿Qué quieres hacer?" not in WebChat.text(chat.replies):
            continue  # refused at the door: too many new participants from this address
        await chat.press("Votar propuestas")
        await chat.press("Todos los ejes")
        if folio in WebChat.text(chat.replies):
            thanks = await chat.press("👍 Apoyo")
            supported += "¡Gracias por tu apoyo!" in thanks
    after = await _figures(client)
    assert supported > 0  # the visitor got in and supported: the supports are recorded ...
    assert _count(after, folio) - _count(before, folio) <= 5  # ... but barely move the ranking
    assert after["totals"]["supports"] - before["totals"]["supports"] <= 5
    levels = {row["key"]: row["count"] for row in after["supports"]["assurance"]}
    assert levels["anonymous"] == supported  # shown apart, by level


async def test_four_fresh_identities_reporting_a_proposal_leave_it_published(
    web: TestClient, consultation: Consultation
) -> None:
    client = web
    folio = await _seed(client, consultation, supports=0)
    before = await _figures(client)
    for _ in range(4):
        chat = await _new_browser(client)
        await chat.press("Votar propuestas")
        await chat.press("Todos los ejes")
        assert folio in WebChat.text(chat.replies)
        await chat.press("Reportar")
        done = await chat.press("Sí, reportar")
        assert "Gracias, la revisaremos." in done
    after = await _figures(client)
    assert after["totals"]["published"] == before["totals"]["published"]
    _count(after, folio)  # still shown among the published proposals
    open_data = await (await client.get("/datos/propuestas.json")).json()
    assert folio in {row["folio"] for row in open_data["propuestas"]}
    voter = await _new_browser(client)
    await voter.press("Votar propuestas")
    await voter.press("Todos los ejes")
    assert folio in WebChat.text(voter.replies)  # and still in the voting


async def test_a_telegram_citizens_support_shows_in_the_public_count_within_seconds(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    app = create_app(hosted_settings(botapi, sqlite_url), consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        await wait_bot_state(client, "up")
        folio = await _seed(client, consultation, supports=0)
        before = await _figures(client)
        chat = botapi.chat(8101)
        await onboard_quickly(chat)
        await chat.press("Votar propuestas", **STEP)
        await chat.press("Todos los ejes", **STEP)
        [thanks] = await chat.press("👍 Apoyo", **STEP)
        assert thanks.text is not None and "¡Gracias por tu apoyo!" in thanks.text
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # polled, as a reader of the dashboard would
            body = await (await client.get("/api/estadisticas")).json()
            if _count(body, folio) == _count(before, folio) + 1:
                break
            assert asyncio.get_running_loop().time() < deadline, body["top"]
            await asyncio.sleep(0.2)
        assert body["totals"]["supports"] == before["totals"]["supports"] + 1
        levels = {row["key"]: row["count"] for row in body["supports"]["assurance"]}
        assert levels["phone"] >= 1


async def test_a_code_from_the_bot_links_the_browser_and_a_support_stays_one(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    app = create_app(hosted_settings(botapi, sqlite_url), consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        await wait_bot_state(client, "up")
        folio = await _seed(client, consultation, supports=0)
        phone = botapi.chat(8102)
        await onboard_quickly(phone)
        browser = await _new_browser(client)
        await browser.press("Votar propuestas")
        await browser.press("Todos los ejes")
        assert folio in WebChat.text(browser.replies)
        on_display = browser.replies  # the browser shows the proposal, not yet judged
        await phone.press("Votar propuestas", **STEP)
        await phone.press("Todos los ejes", **STEP)
        await phone.press("👍 Apoyo", **STEP)
        await phone.say("/menu", **STEP)
        [shown] = await phone.press("Usar en el navegador", **STEP)
        code = re.search(r"\b([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\b", shown.text or "")
        assert code is not None
        await browser.press("Menú")
        await browser.press("Tengo un código")
        linked = await browser.say(code.group(1))
        assert "Este navegador quedó vinculado a tu cuenta de Telegram" in linked
        browser.replies = on_display  # the old message's button, pressed now
        twice = await browser.press("👍 Apoyo")
        assert "Ya habías votado esta propuesta." in twice
        figures = await _figures(client)
        assert _count(figures, folio) == 1


async def test_staff_see_supports_by_level_and_the_alerts_in_estadisticas(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    bursts = consultation.integrity.bursts.model_copy(update={"supports_per_proposal": 3})
    watched = consultation.model_copy(
        update={"integrity": consultation.integrity.model_copy(update={"bursts": bursts})}
    )
    database = Database(sqlite_url)
    moment = utcnow().replace(minute=30, second=0, microsecond=0)  # one window of the clock
    async with database.transaction() as session:
        author = await make_participant(session, watched)
        record = await make_proposal(session, watched, author)
        for channel in ("telegram", "telegram", "web", "web"):
            person = await make_participant(session, watched, channel=channel, now=moment)
            await judge(session, watched, person, record.id, now=moment)
    try:
        async with polling_bot(botapi, database, watched, PMD_ADMIN_IDS="7001"):
            [answer] = await botapi.chat(7001).say("/estadisticas", **STEP)
    finally:
        await database.dispose()
    text = answer.text or ""
    assert "Apoyos: 2" in text  # only the levels that count
    assert "Telegram 2 · navegador verificado 0 · sin verificar 2 · descontados 0" in text
    assert "Alertas de actividad inusual (últimas 24 h): 1" in text
    assert f"4 apoyos a la propuesta {record.folio}" in text
    assert "/panel" in text
