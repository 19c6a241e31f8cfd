"""/api/estadisticas: exact figures of a known data set, small cells, ETag, bounded refresh."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.publication import HIDDEN
from pmd_domain.settings import Settings
from tests.factories import make_participant
from tests.web import dashboard_data
from web.app import create_app
from web.dashboard import SNAPSHOTS


async def _client(url: str, consultation: Consultation) -> AsyncIterator[TestClient]:
    settings = Settings(PMD_ENV="test", PMD_DATABASE_URL=url, PMD_PUBLIC_URL="http://testserver")
    async with TestClient(TestServer(create_app(settings, consultation=consultation))) as client:
        yield client


@pytest.fixture
async def known(sqlite_url: str, consultation: Consultation) -> dashboard_data.KnownData:
    database = Database(sqlite_url)
    try:
        return await dashboard_data.build(database, consultation)
    finally:
        await database.dispose()


@pytest.fixture
async def client(
    sqlite_url: str, consultation: Consultation, known: dashboard_data.KnownData
) -> AsyncIterator[TestClient]:
    async for client in _client(sqlite_url, consultation):
        yield client


def _series(body: dict[str, Any], *path: str) -> dict[str, int]:
    node: Any = body
    for key in path:
        node = node[key]
    keys = [item["key"] for item in node]
    assert len(keys) == len(set(keys)), keys  # each bucket once
    return {item["key"]: item["count"] for item in node}


def _crosstab(body: dict[str, Any], name: str) -> dict[tuple[str, str], Any]:
    table = body["crosstabs"][name]
    return {
        (row["key"], col["key"]): table["cells"][i][j]
        for i, row in enumerate(table["rows"])
        for j, col in enumerate(table["cols"])
    }


def _check_known_figures(body: dict[str, Any], known: dashboard_data.KnownData) -> None:
    assert body["totals"] == {"participants": 4, "proposals": 8, "published": 7, "supports": 1}
    assert body["small_cell_k"] == 5 and body["hidden"] == HIDDEN
    assert body["breakdowns"]["participants"] == 4 and body["breakdowns"]["proposals"] == 8
    assert body["breakdowns"]["published_at"] is not None
    # four people: every count of people is reserved, each series whole
    for dimension in ("gender", "age_group", "sector", "source", "day"):
        assert set(_series(body, "participants", dimension).values()) == {HIDDEN}, dimension
    assert list(_series(body, "participants", "gender")) == [
        "mujer",
        "hombre",
        "otro",
        "sin_respuesta",
    ]
    assert _series(body, "participants", "day")[known.day] == HIDDEN
    # proposals and supports by pillar and topic are contributions, exact
    pillars = _series(body, "proposals", "pillar")
    assert (pillars["servicios"], pillars["seguridad"], sum(pillars.values())) == (7, 1, 8)
    assert _series(body, "proposals", "topic")["servicios.agua"] == 7
    assert _series(body, "supports", "pillar")["servicios"] == 1
    assert _series(body, "supports", "assurance") == {
        "phone": 1,
        "verified": 0,
        "anonymous": 0,
        "discounted": 0,
    }
    assert body["counted_levels"] == ["phone", "verified"]
    gender = _crosstab(body, "gender:pillar")
    # servicios: six by a woman and one by a man; the column of one proposal is reserved whole
    assert gender[("mujer", "servicios")] == HIDDEN
    assert gender[("hombre", "servicios")] == HIDDEN
    assert gender[("otro", "servicios")] == 0
    assert {gender[(row, "seguridad")] for row in ("mujer", "hombre", "otro")} == {HIDDEN}
    assert gender[("mujer", "bienestar")] == 0
    shares = {r["key"]: r for r in body["representativeness"]["gender"]}
    assert shares["mujer"]["participant_share"] is None
    assert shares["mujer"]["census_share"] == pytest.approx(0.519)
    assert "menor_18" not in {r["key"] for r in body["representativeness"]["age_group"]}
    top = body["top"]["servicios"]
    assert len(top) == 5
    assert top[0]["folio"] == known.supported_folio and top[0]["supports"] == 1
    assert (top[0]["topic"], top[0]["topic_name"]) == ("agua", "Agua potable y drenaje")
    assert body["top"]["seguridad"] == []


async def test_api_returns_the_exact_figures(
    client: TestClient, known: dashboard_data.KnownData
) -> None:
    response = await client.get("/api/estadisticas")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    body = await response.json()
    _check_known_figures(body, known)
    assert body["exercise"]["open"] is True
    assert set(body["charts"]) >= {"participantes-genero", "propuestas-eje", "participantes-dia"}
    for chart in body["charts"].values():
        assert chart["url"].startswith("/graficas/") and f"v={chart['version']}" in chart["url"]


async def test_etag_gives_304_until_the_figures_change(
    client: TestClient, consultation: Consultation, sqlite_url: str
) -> None:
    first = await client.get("/api/estadisticas")
    etag = first.headers["ETag"]
    again = await client.get("/api/estadisticas", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    database = Database(sqlite_url)
    async with database.transaction() as session:
        await make_participant(session, consultation, gender="hombre")
    await database.dispose()
    client.app[SNAPSHOTS].expire()
    for _ in range(100):  # the refresh runs in the background; the stale copy is served meanwhile
        changed = await client.get("/api/estadisticas", headers={"If-None-Match": etag})
        if changed.status == 200:
            break
        await asyncio.sleep(0.02)
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert (await changed.json())["totals"]["participants"] == 5


async def test_concurrent_viewers_share_one_computation_per_interval(
    client: TestClient, consultation: Consultation, sqlite_url: str
) -> None:
    cache = client.app[SNAPSHOTS]
    cache.interval = 3600  # nothing expires by itself during the test
    assert cache.computations == 0
    responses = await asyncio.gather(*(client.get("/api/estadisticas") for _ in range(40)))
    assert {r.status for r in responses} == {200}
    assert cache.computations == 1
    pages = await asyncio.gather(*(client.get(path) for path in ["/", "/api/estadisticas"] * 20))
    assert {r.status for r in pages} == {200}
    assert cache.computations == 1

    database = Database(sqlite_url)
    async with database.transaction() as session:
        await make_participant(session, consultation)
    await database.dispose()
    cache.expire()  # the interval has passed
    burst = await asyncio.gather(*(client.get("/api/estadisticas") for _ in range(40)))
    totals = {(await r.json())["totals"]["participants"] for r in burst}
    assert totals <= {4, 5}
    for _ in range(100):
        body = await (await client.get("/api/estadisticas")).json()
        if body["totals"]["participants"] == 5:
            break
        await asyncio.sleep(0.02)
    assert body["totals"]["participants"] == 5
    assert cache.computations == 2


async def test_dashboard_page_shows_the_figures(
    client: TestClient, known: dashboard_data.KnownData
) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    html = await response.text()
    assert 'lang="es-MX"' in html and "Tablero de participación" in html
    assert '<dd data-total="participants">4</dd>' in html
    assert f'<td class="num">{HIDDEN}</td>' in html
    assert "se publicaron por última vez el" in html
    assert known.supported_folio in html
    assert "INEGI" in html  # census source cited
    assert 'data-series="supports.assurance"' in html
    assert "Los demás se registran y se muestran aquí aparte" in html
    assert 'src="/static/dashboard.js' in html and "<script>" not in html
    for chart in ("participantes-genero", "propuestas-eje", "representatividad-edad"):
        assert f'data-chart="{chart}"' in html


async def test_chart_png_with_etag(client: TestClient) -> None:
    body = await (await client.get("/api/estadisticas")).json()
    url = body["charts"]["participantes-genero"]["url"]
    response = await client.get(url)
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert (await response.read()).startswith(b"\x89PNG")
    assert "immutable" in response.headers["Cache-Control"]
    again = await client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    assert (await client.get("/graficas/no-existe.png")).status == 404


async def test_privacy_page_shows_the_full_notice(
    client: TestClient, consultation: Consultation
) -> None:
    response = await client.get("/privacidad")
    assert response.status == 200
    html = await response.text()
    assert consultation.privacy.version in html
    assert consultation.privacy.controller in html
    assert "Finalidades." in html


@pytest.mark.postgres
async def test_api_figures_on_postgresql(postgres_url: str, consultation: Consultation) -> None:
    database = Database(postgres_url)
    known = await dashboard_data.build(database, consultation)
    await database.dispose()
    async for client in _client(postgres_url, consultation):
        body = await (await client.get("/api/estadisticas")).json()
        _check_known_figures(body, known)


async def test_empty_consultation_renders(sqlite_url: str, consultation: Consultation) -> None:
    async for client in _client(sqlite_url, consultation):
        page = await client.get("/")
        assert page.status == 200
        assert "Aún no hay propuestas publicadas en este eje." in await page.text()
        body = await (await client.get("/api/estadisticas")).json()
        assert body["totals"] == {"participants": 0, "proposals": 0, "published": 0, "supports": 0}
        for chart in body["charts"].values():
            response = await client.get(chart["url"])
            assert response.status == 200
            assert (await response.read()).startswith(b"\x89PNG")
