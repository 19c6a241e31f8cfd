"""``/metrics`` counts and times the WhatsApp channel's steps as it does the other channels'."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pmd_domain.consultation import Consultation
from pmd_domain.conversation.types import Outcome
from tests.waapi import WhatsAppCloudServer, press
from tests.waapi.hosting import serving
from web.whatsapp import WEBHOOK_PATH, WHATSAPP
from whatsapp.updates import CHANNEL

STEPS = "pmd_conversation_steps_total"
SECONDS = "pmd_conversation_step_seconds_count"


async def whatsapp_samples(url: str) -> dict[tuple[str, str], float]:
    """The channel's step samples on ``/metrics``, by (name, outcome)."""
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("channel") == CHANNEL:
                found[sample.name, sample.labels.get("outcome", "")] = sample.value
    return found


async def test_steps_are_counted_by_outcome_and_the_delivered_ones_timed(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    phone = waapi.phone("5217710000471")
    async with serving(waapi, sqlite_url, consultation):
        url = (waapi.webhook_url or "").removesuffix(WEBHOOK_PATH)
        await phone.run([("Hola", "bienvenida"), (press("Acepto"), "Pregunta 1 de 4")])
        waapi.fail(130429, times=1000)  # the number's throughput: the next reply waits
        assert await phone.say("/menu") == []
        assert phone.last_status == 200
        samples = await whatsapp_samples(url)
    assert samples.get((STEPS, "ok")) == 2
    assert samples.get((SECONDS, "")) == 2  # the time of each step whose reply went out
    assert samples.get((STEPS, "reply_failed")) == 1  # stored, its reply not out yet


async def test_a_step_that_fails_is_an_error_and_the_citizen_is_told_kindly(
    waapi: WhatsAppCloudServer,
    sqlite_url: str,
    consultation: Consultation,
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone = waapi.phone("5217710000472")
    async with serving(waapi, sqlite_url, consultation) as app:
        url = (waapi.webhook_url or "").removesuffix(WEBHOOK_PATH)
        channel = app[WHATSAPP]

        async def broken(*args: object, **kwargs: object) -> Outcome:
            raise RuntimeError("a fault in the step")

        channel.conversation.handle = broken  # type: ignore[method-assign]
        [apology] = await phone.say("Hola")
        assert phone.last_status == 200  # never a 500: Meta need not deliver it again
        samples = await whatsapp_samples(url)
    assert "problema de nuestro lado" in apology.text
    assert "Traceback" not in apology.text and "fault" not in apology.text
    assert samples.get((STEPS, "error")) == 1
    assert samples.get((STEPS, "ok")) is None
    assert samples.get((SECONDS, "")) is None  # a failed step is not timed
    assert "Hola" not in caplog.text and phone.wa_id not in caplog.text
