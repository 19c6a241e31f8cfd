"""The verification page, end to end: PDF → QR → URL → running app; revocation; privacy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from pmd_domain.certificates.pdf import render_certificate_async
from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.services import certificates, participants
from pmd_domain.settings import Settings
from tests.cli.test_cli import pmd
from tests.factories import make_participant, make_proposal
from tests.qr import qr_texts
from web.app import create_app
from web.certificates import VERIFICATION, PageCache
from web.links import RouterLinks

PROBLEM = "Las luminarias de mi calle llevan meses apagadas y asaltan a la gente."
PROPOSAL = "Cambiar las luminarias por LED y revisar cada mes que funcionen bien."
NOT_VALID = "Esta constancia no es válida"


@dataclass
class Issued:
    token: str
    folio: str
    name: str
    external_id: str
    pillar_name: str
    topic_name: str


@pytest.fixture
async def server(settings: Settings, consultation: Consultation) -> AsyncIterator[TestServer]:
    """The real application listening on a real port."""
    app = create_app(settings, consultation=consultation)
    async with TestServer(app) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client, as a phone's browser would be."""
    async with aiohttp.ClientSession() as session:
        yield session


async def issue_one(sqlite_url: str, consultation: Consultation) -> Issued:
    """A participant with demographics and a proposal, and their certificate."""
    database = Database(sqlite_url)
    try:
        async with database.transaction() as session:
            person = await make_participant(
                session,
                consultation,
                external_id="987654321",
                gender="mujer",
                age_group="30_44",
                sector="comercio",
            )
            await participants.record_answer(
                session,
                consultation=consultation,
                participant=person,
                question="postal_code",
                answer="42083",
                now=utcnow(),
            )
            seguridad = consultation.pillar("seguridad")
            assert seguridad is not None
            topic = seguridad.topics[0]
            await make_proposal(
                session,
                consultation,
                person,
                pillar="seguridad",
                topic=topic.key,
                problem=PROBLEM,
                proposal=PROPOSAL,
            )
            issued = await certificates.issue(
                session,
                consultation=consultation,
                participant=person,
                name="Ximena Ñúñez-O'Farrill",
                now=utcnow(),
            )
            assert issued.folio is not None and issued.name is not None
            return Issued(
                token=issued.token,
                folio=issued.folio,
                name=issued.name,
                external_id="987654321",
                pillar_name=consultation.text(seguridad.name, "es"),
                topic_name=consultation.text(topic.name, "es"),
            )
    finally:
        await database.dispose()


async def test_the_qr_of_the_pdf_opens_the_verification_page(
    server: TestServer,
    http: aiohttp.ClientSession,
    sqlite_url: str,
    consultation: Consultation,
) -> None:
    issued = await issue_one(sqlite_url, consultation)
    links = RouterLinks(server.app.router, str(server.make_url("")))  # type: ignore[union-attr]
    database = Database(sqlite_url)
    async with database.reading() as session:
        record = await certificates.by_token(session, token=issued.token)
    await database.dispose()
    assert record is not None
    pdf = await render_certificate_async(
        consultation=consultation, certificate=record, verify_url=links.certificate(issued.token)
    )
    decoded = qr_texts(pdf)
    assert len(decoded) == 1
    url = decoded[0]
    assert url.startswith(str(server.make_url("/constancias/")))

    async with http.get(url) as response:
        page = await response.text()
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert "noindex" in response.headers["X-Robots-Tag"]
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Constancia válida" in page
    assert "Ximena Ñúñez-O&#39;Farrill" in page  # escaped, accents intact
    assert f'<dt>Folio</dt><dd class="cert-folio">{issued.folio}</dd>' in page
    assert issued.pillar_name in page and issued.topic_name in page
    assert consultation.text(consultation.exercise.title, "es") in page
    # Nothing beyond SPEC §4: no chat id, no demographics, no proposal texts.
    for private in (
        issued.external_id,
        "42083",
        "Mujer",
        "30 a 44",
        "Comercio",
        PROBLEM[:30],
        PROPOSAL[:30],
        issued.token[:10] + "x",
    ):
        assert private not in page
    assert "<script" not in page and "style=" not in page

    # Staff revokes it; the page says so once its few seconds of cache have passed.
    server.app[VERIFICATION].cache = PageCache(ttl=0.3)  # type: ignore[index]
    for _ in range(2):  # the second answer comes from the page cache: same page, same headers
        async with http.get(url) as response:
            assert "Constancia válida" in await response.text()
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["Cache-Control"] == "no-store"
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    database = Database(sqlite_url)
    async with database.transaction() as session:
        await certificates.revoke(
            session, folio=issued.folio, reason="Se emitió con un nombre equivocado", now=utcnow()
        )
    await database.dispose()
    await asyncio.sleep(0.4)
    async with http.get(url) as response:
        page = await response.text()
        assert response.status == 200
    assert "Constancia revocada" in page
    assert "revocada el" in page
    assert "Se emitió con un nombre equivocado" in page
    assert "Constancia válida" not in page


async def test_unknown_truncated_and_tampered_tokens_are_not_valid(
    server: TestServer,
    http: aiohttp.ClientSession,
    sqlite_url: str,
    consultation: Consultation,
) -> None:
    issued = await issue_one(sqlite_url, consultation)
    token = issued.token
    tampered = token[:5] + ("a" if token[5] != "a" else "b") + token[6:]
    for bad in (certificates.new_token(), token[:-1], tampered, "hola", token + "A", "%27%22%3C"):
        async with http.get(server.make_url(f"/constancias/{bad}")) as response:
            page = await response.text()
            assert response.status == 404, bad
            assert NOT_VALID in page
            assert response.headers["Cache-Control"] == "no-store"
            assert "Content-Security-Policy" in response.headers
            assert issued.name not in page
    async with http.get(server.make_url(f"/constancias/{token}")) as response:
        assert response.status == 200


async def test_too_many_requests_from_one_client_get_429(
    server: TestServer, http: aiohttp.ClientSession, sqlite_url: str, consultation: Consultation
) -> None:
    issued = await issue_one(sqlite_url, consultation)
    statuses = []
    for _ in range(30):
        async with http.get(server.make_url(f"/constancias/{issued.token}")) as response:
            statuses.append(response.status)
            if response.status == 429:
                retry_after = int(response.headers["Retry-After"])
                page = await response.text()
    assert statuses[:20] == [200] * 20  # the burst
    assert 429 in statuses[20:]
    assert retry_after >= 1
    assert "Demasiadas consultas" in page
    assert "Espera un minuto" in page


async def test_a_revocation_shows_in_every_process_once_the_cli_says_so(
    settings: Settings, http: aiohttp.ClientSession, sqlite_url: str, consultation: Consultation
) -> None:
    issued = await issue_one(sqlite_url, consultation)
    # Two applications: two page caches, as two ``pmd serve`` processes have.
    one = TestServer(create_app(settings, consultation=consultation))
    two = TestServer(create_app(settings, consultation=consultation))
    async with one, two:
        for server in (one, two):
            for _ in range(3):  # the later answers come from the page cache
                async with http.get(server.make_url(f"/constancias/{issued.token}")) as response:
                    assert "Constancia válida" in await response.text()
        done = await asyncio.to_thread(
            pmd,
            "certificate",
            "revoke",
            issued.folio,
            "--reason",
            "Nombre suplantado",
            env={"PMD_DATABASE_URL": sqlite_url},
        )
        assert done.returncode == 0, done.stderr
        assert "ya lo indica" in done.stdout
        for server in (one, two):
            async with http.get(server.make_url(f"/constancias/{issued.token}")) as response:
                page = await response.text()
            assert "Constancia revocada" in page and "Nombre suplantado" in page
