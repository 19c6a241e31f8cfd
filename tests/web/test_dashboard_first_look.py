"""The dashboard as a newcomer sees it: a call to take part, the bot's QR, plurals, local time."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.settings import Settings
from tests.factories import make_participant, make_proposal, spanish_day
from web.app import create_app
from web.charts import count_label


@pytest.fixture
async def client(sqlite_url: str, consultation: Consultation) -> AsyncIterator[TestClient]:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        author = await make_participant(session, consultation)
        proposal = await make_proposal(session, consultation, author)
        proposal.supports = 1
    await database.dispose()
    settings = Settings(
        PMD_ENV="test",
        PMD_DATABASE_URL=sqlite_url,
        PMD_PUBLIC_URL="http://testserver",
        TELEGRAM_BOT_USERNAME="ParticipaPachucaBot",
    )
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as running:
        yield running


async def test_the_dashboard_calls_to_take_part_with_the_bots_qr(client: TestClient) -> None:
    page = await (await client.get("/")).text()
    assert 'href="/participa"' in page and "Participar desde el navegador" in page
    assert 'href="https://t.me/ParticipaPachucaBot?start=tablero"' in page
    assert 'aria-label="En esta página"' in page and 'href="#destacadas"' in page
    qr = await client.get("/participa/telegram.png")
    assert qr.status == 200 and qr.content_type == "image/png"
    image = Image.open(io.BytesIO(await qr.read()))
    assert [c.text for c in zxingcpp.read_barcodes(image)] == [
        "https://t.me/ParticipaPachucaBot?start=tablero"
    ]
    assert " UTC" not in page and "(hora de Pachuca de Soto, Hidalgo)" in page
    assert 'data-supports-one="{total} apoyo"' in page
    assert "<details><summary>Ver la tabla</summary>" in page


async def test_the_dashboard_dates_the_exercise_on_its_own_calendar(
    client: TestClient, consultation: Consultation
) -> None:
    page = await (await client.get("/")).text()
    zone = ZoneInfo(consultation.exercise.timezone)
    opens, closes = (
        moment.astimezone(zone).date()
        for moment in (consultation.exercise.opens, consultation.exercise.closes)
    )
    assert f"Del {spanish_day(opens)} al {spanish_day(closes)}." in page


async def test_no_qr_without_the_bots_username(sqlite_url: str, consultation: Consultation) -> None:
    settings = Settings(PMD_ENV="test", PMD_DATABASE_URL=sqlite_url)
    async with TestClient(TestServer(create_app(settings, consultation=consultation))) as client:
        page = await (await client.get("/")).text()
        assert "t.me/" not in page and "Participar desde el navegador" in page
        assert (await client.get("/participa/telegram.png")).status == 404


def test_an_empty_chart_has_no_minus_zero() -> None:
    assert count_label(-0.0) == "0" and count_label(-0.04) == "0"
    assert count_label(1234.0) == "1,234"
