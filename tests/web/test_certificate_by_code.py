"""Verification by folio and short code; legible tokens; the URL on the PDF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date

import aiohttp
import pypdfium2
import pytest
from aiohttp.test_utils import TestServer

from pmd_domain.certificates.pdf import render_certificate_async
from pmd_domain.consultation import Consultation
from pmd_domain.consultation.demo_exercise import demo_exercise_text
from pmd_domain.consultation.loader import parse_consultation
from pmd_domain.db import Database
from pmd_domain.services import certificates
from pmd_domain.settings import Settings
from tests.factories import make_certificate, make_participant, sample_certificate
from tests.web.test_certificate_page import issue_one
from web.app import create_app
from web.certificates import VERIFICATION
from web.ratelimit import RateLimiter

OLD_TOKEN = "Il1O0o_-abcdefghijklmnopqrstuvwx"  # the URL-safe alphabet of the first tokens


@pytest.fixture
async def server(settings: Settings, consultation: Consultation) -> AsyncIterator[TestServer]:
    app = create_app(settings, consultation=consultation)
    async with TestServer(app) as running:
        yield running


def test_new_tokens_have_no_look_alike_characters() -> None:
    tokens = [certificates.new_token() for _ in range(200)]
    assert all(len(t) == 32 and certificates.well_formed(t) for t in tokens)
    assert not set("".join(tokens)) & set("0O1Il_-o")
    code = certificates.short_code(tokens[0])
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
    assert certificates.short_code(tokens[0]) == code  # the same every time


async def test_verification_by_folio_and_short_code(
    server: TestServer, sqlite_url: str, consultation: Consultation
) -> None:
    issued = await issue_one(sqlite_url, consultation)
    code = certificates.short_code(issued.token)
    async with aiohttp.ClientSession() as http:
        form = await http.get(server.make_url("/constancias/"))
        assert form.status == 200
        page = await form.text()
        assert 'name="folio"' in page and 'name="codigo"' in page
        # typed as a person would: lower case, spaces, no dash
        typed = f" {code.lower().replace('-', ' ')} "
        url = server.make_url("/constancias/").with_query(folio=issued.folio.lower(), codigo=typed)
        async with http.get(url) as found:
            assert found.status == 200
            body = await found.text()
            assert "Constancia válida" in body and issued.name.replace("'", "&#39;") in body
        wrong = code[:-1] + ("2" if code[-1] != "2" else "3")
        url = server.make_url("/constancias/").with_query(folio=issued.folio, codigo=wrong)
        async with http.get(url) as missing:
            assert missing.status == 404
            assert (
                "No encontramos una constancia con ese folio y ese código" in await missing.text()
            )


async def test_an_old_token_keeps_verifying_and_has_a_code(
    server: TestServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        person = await make_participant(session, consultation)
        make_certificate(session, person, name="Ana López", folio="C23-000777", token=OLD_TOKEN)
    await database.dispose()
    code = certificates.short_code(OLD_TOKEN)
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url(f"/constancias/{OLD_TOKEN}")) as page:
            assert page.status == 200 and "Ana López" in await page.text()
        url = server.make_url("/constancias/").with_query(folio="C23-000777", codigo=code)
        async with http.get(url) as page:
            assert page.status == 200 and "Ana López" in await page.text()


async def test_guessing_codes_is_rate_limited(server: TestServer) -> None:
    server.app[VERIFICATION].limiter = RateLimiter(rate=1, per=60, burst=3)  # type: ignore[index]
    statuses = []
    async with aiohttp.ClientSession() as http:
        for n in range(5):
            url = server.make_url("/constancias/").with_query(
                folio="C23-000001", codigo=f"AAAA-AAA{n + 2}"
            )
            async with http.get(url) as answer:
                statuses.append(answer.status)
    assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429]


async def test_the_invalid_page_offers_the_folio_and_code_form(server: TestServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.make_url("/constancias/no-existe")) as page,
    ):
        assert page.status == 404
        body = await page.text()
        assert 'name="codigo"' in body and "escribe la dirección" not in body


async def test_the_pdf_prints_the_url_legibly_with_the_folio_and_code(
    sqlite_url: str, consultation: Consultation
) -> None:
    issued = await issue_one(sqlite_url, consultation)
    database = Database(sqlite_url)
    async with database.reading() as session:
        record = await certificates.by_token(session, token=issued.token)
    await database.dispose()
    assert record is not None
    url = f"https://participa.pachuca.gob.mx/constancias/{issued.token}"
    pdf = await render_certificate_async(
        consultation=consultation, certificate=record, verify_url=url
    )
    document = pypdfium2.PdfDocument(pdf)
    page = document[0]
    reading = page.get_textpage()
    text = reading.get_text_range()
    reading.close()
    lines = [line.strip() for line in text.splitlines()]
    assert issued.token in lines  # the token whole, on its own line
    assert "https://participa.pachuca.gob.mx/constancias/" in lines
    code = certificates.short_code(issued.token)
    assert code in text and issued.folio in text
    textpage = page.get_textpage()
    every = textpage.get_text_range()
    for needle in (issued.token, "https://participa", code):
        first = every.index(needle)
        sizes = [
            pypdfium2.raw.FPDFText_GetFontSize(textpage.raw, i)
            for i in range(first, first + len(needle))
        ]
        assert min(sizes) >= 9, (needle, sizes)
    textpage.close()
    page.close()
    document.close()


async def test_the_pdf_says_who_is_behind_it(consultation: Consultation) -> None:
    demo = parse_consultation(demo_exercise_text(date.today()), name="demo")
    record = sample_certificate()
    pdf = await render_certificate_async(
        consultation=demo, certificate=record, verify_url="https://x.example/constancias/t"
    )
    document = pypdfium2.PdfDocument(pdf)
    page = document[0]
    reading = page.get_textpage()
    text = " ".join(reading.get_text_range().split())
    reading.close()
    page.close()
    document.close()
    assert "Oficina de Planeación (ficticia, demostración)" in text
    assert "planeacion@ejemplo.invalid" in text and "771 000 0000" in text
