"""Open data: published proposals and aggregates only, never personal data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.publication import HIDDEN
from pmd_domain.settings import Settings
from tests.web import dashboard_data
from web.app import create_app

PROPOSAL_COLUMNS = [
    "folio",
    "eje",
    "eje_nombre",
    "tema",
    "tema_nombre",
    "problema",
    "propuesta",
    "vision",
    "apoyos",
    "apoyos_telefono",
    "apoyos_verificados",
    "apoyos_sin_verificar",
    "apoyos_descontados",
    "en_revision",
    "fecha",
    "resultado",
    "vistas",
]
FILES = (
    "/datos/propuestas.csv",
    "/datos/propuestas.json",
    "/datos/participacion.csv",
    "/datos/participacion.json",
)


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
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://testserver"
    )
    async with TestClient(TestServer(create_app(settings, consultation=consultation))) as client:
        yield client


async def _text(client: TestClient, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, path
    assert "attachment" in response.headers["Content-Disposition"]
    assert path.rsplit("/", 1)[1] in response.headers["Content-Disposition"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    return (await response.read()).decode("utf-8")


async def test_no_personal_data_in_any_file(
    client: TestClient, known: dashboard_data.KnownData
) -> None:
    for path in FILES:
        text = await _text(client, path)
        for value in known.chat_ids + known.postal_codes + known.names:
            assert value not in text, (path, value)
        for value in known.hidden_texts:
            assert value not in text, (path, value)
    proposals_text = await _text(client, "/datos/propuestas.json")
    for individual in ("mujer", "hombre", "estudiante", "fb_alcalde", "radio", "18_29"):
        assert individual not in proposals_text


async def test_proposals_csv_has_exactly_the_public_columns(
    client: TestClient, known: dashboard_data.KnownData
) -> None:
    text = await _text(client, "/datos/propuestas.csv")
    assert text.startswith("\ufeff")  # BOM, so Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows and list(rows[0]) == PROPOSAL_COLUMNS
    assert sorted(r["folio"] for r in rows) == sorted(known.published_folios)
    supported = next(r for r in rows if r["folio"] == known.supported_folio)
    assert supported["apoyos"] == "1"
    assert (supported["apoyos_telefono"], supported["apoyos_sin_verificar"]) == ("1", "0")
    assert supported["en_revision"] == "no"
    assert supported["eje"] == "servicios" and supported["tema_nombre"] == "Agua potable y drenaje"
    assert supported["fecha"] == known.day
    assert {r["resultado"] for r in rows} == {"", "Incluida en el PMD"}
    tricky = [r for r in rows if r["problema"] == dashboard_data.TRICKY_CSV_TEXT]
    assert len(tricky) == 1  # quotes, commas, semicolons and a line break survive the round trip


async def test_proposals_json_matches_the_csv(
    client: TestClient, known: dashboard_data.KnownData
) -> None:
    body = json.loads(await _text(client, "/datos/propuestas.json"))
    assert body["licencia"] == "Términos de Libre Uso MX"
    assert "Pachuca" in body["atribucion"]
    assert {tuple(p) == tuple(PROPOSAL_COLUMNS) for p in body["propuestas"]} == {True}
    assert sorted(p["folio"] for p in body["propuestas"]) == sorted(known.published_folios)


async def test_proposals_are_streamed_in_pages(
    client: TestClient, consultation: Consultation, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pmd_domain.services import open_data

    monkeypatch.setattr(open_data, "PAGE", 2)  # seven published proposals: four pages
    rows = list(csv.reader(io.StringIO((await _text(client, "/datos/propuestas.csv"))[1:])))
    assert len(rows) == 1 + 7
    assert len({r[0] for r in rows[1:]}) == 7


async def test_participation_applies_the_publication_rule(client: TestClient) -> None:
    text = await _text(client, "/datos/participacion.csv")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(rows[0]) == ["medida", "dimension", "clave", "etiqueta", "columna", "valor"]
    cell = {(r["dimension"], r["clave"], r["columna"]): r["valor"] for r in rows}
    by_measure = {(r["medida"], r["dimension"], r["clave"]): r["valor"] for r in rows}
    assert cell[("gender:pillar", "mujer", "servicios")] == HIDDEN
    assert cell[("gender:pillar", "hombre", "servicios")] == HIDDEN
    assert cell[("gender:pillar", "otro", "servicios")] == "0"
    assert cell[("total", "participants", "")] == "4"
    assert cell[("gender", "mujer", "")] == HIDDEN
    assert by_measure[("propuestas", "pillar", "servicios")] == "7"
    assert by_measure[("desgloses", "publicados", "fecha")].startswith("20")
    body = json.loads(await _text(client, "/datos/participacion.json"))
    values = {(r["dimension"], r["clave"], r["columna"]): r["valor"] for r in body["participacion"]}
    assert values[("sector:pillar", "empleado", "servicios")] == HIDDEN
    assert body["licencia"] == "Términos de Libre Uso MX"


async def test_open_data_page_explains_files_and_licence(client: TestClient) -> None:
    response = await client.get("/datos/")
    assert response.status == 200
    html = await response.text()
    assert "Libre Uso MX" in html and "Municipio de Pachuca de Soto" in html
    for path in FILES:
        assert f'href="{path}"' in html
