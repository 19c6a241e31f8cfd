"""The WhatsApp webhook: Meta's verification, signed deliveries, repeats, order, restarts."""

from __future__ import annotations

import asyncio
import hmac
import json
import sqlite3

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from pmd_domain.consultation import Consultation
from pmd_domain.db.models import OutboxStep, Participant, ProcessedUpdate
from tests.e2e.citizens import PROBLEM
from tests.e2e.hosting import free_port
from tests.waapi import APP_SECRET, VERIFY_TOKEN, WhatsAppCloudServer, press
from tests.waapi.hosting import serving
from web.keys import DATABASE
from web.whatsapp import WEBHOOK_PATH

NUMBER = "5217717654321"


async def test_meta_verifies_the_webhook_with_the_verify_token(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    async with serving(waapi, sqlite_url, consultation, port=port), aiohttp.ClientSession() as http:
        good = {
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        }
        async with http.get(url, params=good) as response:
            assert response.status == 200
            assert await response.text() == "1158201444"
        for wrong in (
            {**good, "hub.verify_token": "not-ours"},
            {**good, "hub.mode": "unsubscribe"},
            {"hub.mode": "subscribe", "hub.challenge": "1"},
        ):
            async with http.get(url, params=wrong) as response:
                assert response.status == 403


async def test_a_bad_signature_is_refused_and_nothing_is_stored(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation) as app, aiohttp.ClientSession() as http:
        phone = waapi.phone(NUMBER)
        forged = phone.server.message(NUMBER, "text", {"body": "Hola"})
        assert await phone.deliver(forged, secret="someone-elses-app-secret-0123456") == []
        assert phone.last_status == 403
        # no signature at all
        async with http.post(waapi.webhook_url or "", data=b"{}") as response:
            assert response.status == 403
        # a body changed after it was signed
        good = waapi.envelope(NUMBER, "Ana", [forged])
        signature = hmac.new(APP_SECRET.encode(), json.dumps(good).encode(), "sha256").hexdigest()
        changed = json.dumps(good).replace("Hola", "Adiós").encode()
        headers = {"X-Hub-Signature-256": f"sha256={signature}"}
        async with http.post(waapi.webhook_url or "", data=changed, headers=headers) as response:
            assert response.status == 403
        async with app[DATABASE].reading() as session:
            assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0
        assert waapi.requests == 0
        # the real signature is accepted
        assert await phone.say("Hola")
        assert phone.last_status == 200


async def test_a_repeated_message_id_is_handled_once(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation) as app:
        phone = waapi.phone(NUMBER)
        await phone.run([("Hola", "bienvenida")])
        accepted = await phone.press("Acepto")
        assert "Pregunta 1 de 4" in accepted[-1].text
        # Meta did not get our 200 in time and delivers the same message again.
        assert await phone.again() == []  # its replies went out already: nothing twice
        assert phone.last_status == 200
        async with app[DATABASE].reading() as session:
            people = await session.scalar(select(func.count()).select_from(Participant))
            steps = await session.scalar(select(func.count()).select_from(OutboxStep))
        assert (people, steps) == (1, 2)


async def test_messages_of_one_chat_in_order_and_chats_side_by_side(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation):
        phones = [waapi.phone(f"52155500000{n:02d}") for n in range(6)]
        for phone in phones:
            await phone.run([("Hola", "bienvenida"), (press("Acepto"), "Pregunta 1 de 4")])
        # Each citizen sends an answer and a command in one delivery; all at once.
        await asyncio.gather(*(p.deliver(p.tap("Mujer"), p.text("/ayuda")) for p in phones))
        for phone in phones:
            texts = [m.text for m in phone.messages]
            asked = next(i for i, t in enumerate(texts) if "Pregunta 2 de 4" in t)
            helped = next(i for i, t in enumerate(texts) if "Así funciona" in t)
            assert asked < helped  # the answer first, then the help about question 2
            assert "Pregunta 2 de 4" in "\n".join(texts[helped:])


async def test_a_restart_in_the_middle_of_a_proposal_continues_where_the_citizen_was(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    phone = waapi.phone(NUMBER)
    async with serving(waapi, sqlite_url, consultation):
        await phone.run([("Hola", "bienvenida"), (press("Acepto"), "Pregunta 1 de 4")])
        while "Prefiero no decir" in phone.choices():
            await phone.press("Prefiero no decir")
        await phone.run(
            [
                (press("Hacer una propuesta"), "¿De qué eje es tu propuesta?"),
                (press("2. Servicios públicos y desarrollo sostenible"), "¿De qué tema?"),
                (press("Alumbrado público"), "¿Cuál es el problema?"),
            ]
        )
    # A new process on the same database (and a new secret-free memory: the numbers
    # are read back from their sealed rows).
    async with serving(waapi, sqlite_url, consultation):
        await phone.run([(PROBLEM, "¿Qué propones?")])


async def test_a_delivery_the_database_cannot_take_now_is_answered_503_and_handled_later(
    waapi: WhatsAppCloudServer,
    sqlite_url: str,
    consultation: Consultation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("web.whatsapp.WEBHOOK_HOLD_SECONDS", 0.5)
    loop = asyncio.get_running_loop()
    phone = waapi.phone(NUMBER)
    async with serving(waapi, sqlite_url, consultation) as app:
        await phone.run([("Hola", "bienvenida")])
        seen = len(phone.messages)
        # Another process holds SQLite's write lock: the step has to wait for it.
        blocker = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            asked = loop.time()
            assert await phone.press("Acepto") == []
            # Meta is not kept waiting: "come again", once the hold has passed.
            assert phone.last_status == 503
            assert 0.4 < loop.time() - asked < 5
        finally:
            blocker.rollback()
            blocker.close()
        # The step went on meanwhile: it commits once the lock is free, and its reply
        # goes out without Meta's help.
        arrived = await waapi.wait_for(NUMBER, seen + 1)
        assert "Pregunta 1 de 4" in arrived[-1].text
        # Meta delivers the message again: handled already, nothing twice.
        assert await phone.again() == []
        assert phone.last_status == 200
        async with app[DATABASE].reading() as session:
            steps = await session.scalar(select(func.count()).select_from(OutboxStep))
        assert steps == 2


async def test_hostile_deliveries_get_a_short_answer_never_a_500(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation), aiohttp.ClientSession() as http:
        url = waapi.webhook_url or ""
        bodies: list[bytes] = [
            b"not json",
            b"[]",
            json.dumps({"object": "page"}).encode(),
            json.dumps({"object": "whatsapp_business_account", "entry": 5}).encode(),
            json.dumps(waapi.envelope(NUMBER, "x", [{"from": NUMBER, "id": "w", "type": "text", "text": "no"}])).encode(),
            json.dumps(waapi.envelope(NUMBER, "x", [{"from": NUMBER, "id": "w2", "type": "interactive", "interactive": []}])).encode(),
            json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {"metadata": []}}]}]}).encode(),
        ]  # fmt: skip
        for body in bodies:
            signature = hmac.new(APP_SECRET.encode(), body, "sha256").hexdigest()
            headers = {"X-Hub-Signature-256": f"sha256={signature}"}
            async with http.post(url, data=body, headers=headers) as response:
                assert response.status in (200, 400), (body, response.status)
