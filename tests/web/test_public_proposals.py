"""``/propuestas``, ``/propuestas/{folio}`` and ``/resultados`` over HTTP (no JavaScript)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import date

import pypdfium2
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.services import analysis
from pmd_domain.settings import Settings
from tests.factories import make_participant, make_proposal, spanish_day
from web.app import create_app
from web.proposals import PAGES, RESULTS
from web.security import CSP

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
async def app_client(settings: Settings, consultation: Consultation) -> AsyncIterator[TestClient]:
    """The application with its page caches off, so each request shows the database."""
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        app[PAGES].ttl = 0
        app[RESULTS].ttl = 0
        yield client


async def _seed(settings: Settings, consultation: Consultation) -> dict[str, str]:
    database = Database(settings.database_url)
    try:
        async with database.transaction() as session:
            author = await make_participant(session, consultation)
            lamp = await make_proposal(
                session,
                consultation,
                author,
                problem="La iluminación de la Peñita está apagada desde hace meses.",
                proposal="Cambiar las lámparas por luminarias LED y revisar el cableado.",
                vision="Calles iluminadas y seguras en 2040.",
            )
            hostile = await make_proposal(
                session, consultation, author, problem=HOSTILE, proposal=HOSTILE + " en serio."
            )
            pending = await make_proposal(session, consultation, author, publish=False)
            await analysis.align(
                session, consultation=consultation, proposal_id=lamp.id, actions=["2.1.1"]
            )
            await analysis.record_outcome(
                session,
                proposal_id=lamp.id,
                outcome="incluida",
                now=utcnow(),
                note="Se suma al programa de alumbrado 2024.",
            )
        return {
            "lamp": str(lamp.folio),
            "hostile": str(hostile.folio),
            "pending": str(pending.folio),
        }
    finally:
        await database.dispose()


async def test_the_list_searches_without_accents_and_filters(
    app_client: TestClient, settings: Settings, consultation: Consultation
) -> None:
    folios = await _seed(settings, consultation)
    response = await app_client.get("/propuestas")
    assert response.status == 200
    assert response.headers["Content-Security-Policy"] == CSP
    page = await response.text()
    assert folios["lamp"] in page and folios["hostile"] in page
    assert folios["pending"] not in page
    for query in (
        "?q=PENITA+led",
        "?q=iluminacion",
        "?resultado=incluida",
        "?tema=servicios.agua&q=lampara",
    ):
        text = await (await app_client.get("/propuestas" + query)).text()
        assert folios["lamp"] in text and folios["hostile"] not in text, query
    text = await (await app_client.get("/propuestas?resultado=sin_resultado")).text()
    assert folios["hostile"] in text and folios["lamp"] not in text
    # Nonsense parameters are ignored, never an error.
    for query in ("?eje=x%01&antes=xyz", "?q=" + "a" * 5000, "?despues=PMD23-99999999999999"):
        assert (await app_client.get("/propuestas" + query)).status == 200
    # A NUL, which no link holds, is a bad address (tests/web/test_hostile_requests.py).
    assert (await app_client.get("/propuestas?eje=%00&antes=xyz")).status == 400


async def test_a_proposal_page_shows_the_answer_escaped_and_never_the_author(
    app_client: TestClient, settings: Settings, consultation: Consultation
) -> None:
    folios = await _seed(settings, consultation)
    response = await app_client.get(f"/propuestas/{folios['lamp']}")
    assert response.status == 200
    page = await response.text()
    assert "Incluida en el PMD" in page and "Se suma al programa de alumbrado 2024." in page
    assert "2.1.1" in page
    assert "Calles iluminadas y seguras en 2040." in page
    assert 'property="og:title"' in page
    url = f"http://testserver/propuestas/{folios['lamp']}"
    assert f'property="og:url" content="{url}"' in page
    assert (
        "https://wa.me/?text=" in page
        and "https://t.me/share/url?url=http%3A%2F%2Ftestserver" in page
    )
    # Only the day is public, as in the open data: the page's machine-readable dates
    # carry no time of day (an exact moment would help tell who wrote it).
    day = re.search(r'Enviada: <time datetime="(\d{4}-\d{2}-\d{2})">([^<]+)</time>', page)
    assert day is not None
    assert day.group(2) == spanish_day(date.fromisoformat(day.group(1)))
    assert not re.search(r'datetime="[^"]*T', page)
    assert "Respondida" in page
    hostile = await (await app_client.get(f"/propuestas/{folios['hostile']}")).text()
    assert "<script>alert" not in hostile and "onerror=alert(1)>" not in hostile
    assert html.escape(HOSTILE, quote=False)[:20] in hostile
    for missing in (folios["pending"], "PMD23-999999", "%3Cscript%3E"):
        response = await app_client.get(f"/propuestas/{missing}")
        assert response.status == 404
        assert "Propuesta no encontrada" in await response.text()


async def test_results_page_files_and_pdf(
    app_client: TestClient, settings: Settings, consultation: Consultation
) -> None:
    await _seed(settings, consultation)
    page = await (await app_client.get("/resultados")).text()
    row = re.search(r'<tr data-action="2\.1\.1">(.*?)</tr>', page, re.S)
    assert row is not None
    assert [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row.group(1))] == [
        1,
        1,
        0,
        0,
        0,
    ]
    csv_text = (await (await app_client.get("/datos/resultados.csv")).read()).decode("utf-8-sig")
    assert csv_text.splitlines()[0] == (
        "eje,eje_nombre,accion,accion_nombre,propuestas,incluidas,consideradas,no_procede,sin_resultado"
    )
    assert any(
        line.startswith("servicios,") and ",2.1.1," in line and line.endswith(",1,1,0,0,0")
        for line in csv_text.splitlines()
    )
    data = await (await app_client.get("/datos/resultados.json")).json()
    assert data["licencia"] == "Términos de Libre Uso MX"
    response = await app_client.get("/resultados.pdf")
    assert response.headers["Content-Type"] == "application/pdf"
    pdf = pypdfium2.PdfDocument(await response.read())
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "Resultados de la consulta" in text and "2.1.1" in text


async def test_the_dashboard_shows_how_even_the_exposure_was(
    app_client: TestClient, settings: Settings, consultation: Consultation
) -> None:
    from pmd_domain.services import votes

    database = Database(settings.database_url)
    async with database.transaction() as session:
        author = await make_participant(session, consultation)
        for shown in (0, 10, 10, 20):
            record = await make_proposal(
                session, consultation, author, problem=f"Bache {shown} aquí."
            )
            for _ in range(shown):
                await votes.record_view(session, proposal_id=record.id)
    await database.dispose()
    figures = await (await app_client.get("/api/estadisticas")).json()
    assert figures["exposure"]["with_min_views"] == 3
    assert figures["exposure"]["gini"] == 0.375
    page = await (await app_client.get("/")).text()
    assert (
        "De 4 propuestas publicadas, 75.0\u00a0% se mostraron al menos 10 veces (3 propuestas)"
        in page
    )
    assert "El índice de Gini de las vistas es 0.38" in page


async def test_many_new_searches_from_one_address_are_slowed_kindly(
    app_client: TestClient, settings: Settings, consultation: Consultation
) -> None:
    """A search no page cache can answer reads the index; one address cannot ask for it
    without end (browsing pages and filters is not limited)."""
    from web.proposals import SEARCHES

    app_client.app[SEARCHES].burst = 3.0  # type: ignore[index]
    statuses = [(await app_client.get(f"/propuestas?q=palabra{n}")).status for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    busy = await app_client.get("/propuestas?q=otra")
    assert "Espera un minuto" in await busy.text() and int(busy.headers["Retry-After"]) > 0
    assert (await app_client.get("/propuestas?eje=servicios")).status == 200
