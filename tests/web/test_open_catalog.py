"""The DCAT catalogue and the data dictionaries agree with the files actually served."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.services import analysis
from pmd_domain.settings import Settings
from tests.factories import make_participant, make_proposal
from web.app import create_app

REQUIRED = (
    "identifier",
    "title",
    "description",
    "modified",
    "contactPoint",
    "landingPage",
    "accrualPeriodicity",
)
JSON_LISTS = {
    "propuestas": "propuestas",
    "participacion": "participacion",
    "resultados": "resultados",
}


@pytest.fixture
async def client(settings: Settings, consultation: Consultation) -> AsyncIterator[TestClient]:
    database = Database(settings.database_url)
    async with database.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author, vision="Agua diario.")
        await analysis.align(
            session, consultation=consultation, proposal_id=record.id, actions=["2.1.1"]
        )
        await analysis.record_outcome(
            session, proposal_id=record.id, outcome="considerada", now=utcnow()
        )
    await database.dispose()
    async with TestClient(TestServer(create_app(settings, consultation=consultation))) as test:
        yield test


def _csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheets read the accents
    return list(csv.reader(io.StringIO(text[1:])))


def _iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, value  # ISO 8601 with its offset
    return moment


async def test_every_dataset_its_distributions_and_dictionaries_match_what_is_served(
    client: TestClient,
) -> None:
    response = await client.get("/datos/catalogo.json")
    assert response.status == 200 and response.content_type == "application/json"
    catalogue = await response.json()
    assert catalogue["@type"] == "dcat:Catalog"
    assert "Libre Uso MX" in catalogue["atribucion"]
    names = set()
    for item in catalogue["dataset"]:
        for field in REQUIRED:
            assert item.get(field), (item.get("identifier"), field)
        assert item["contactPoint"]["fn"]
        _iso(item["modified"])
        assert item["accrualPeriodicity"] == "irregular" or item["accrualPeriodicity"].startswith(
            "R/P"
        )
        landing = await client.get(urlsplit(item["landingPage"]).path)
        assert landing.status == 200
        name = item["identifier"].rsplit("-", 1)[-1]
        names.add(name)
        served: dict[str, bytes] = {}
        dictionaries = set()
        for distribution in item["distribution"]:
            url = urlsplit(distribution["downloadURL"])
            assert url.scheme == "http" and url.netloc == "testserver"  # PMD_PUBLIC_URL
            got = await client.get(url.path)
            assert got.status == 200, url.path
            assert got.content_type == distribution["mediaType"], url.path
            served[url.path] = await got.read()
            if "describedBy" in distribution:
                dictionaries.add(urlsplit(distribution["describedBy"]).path)
                assert distribution["describedByType"] == "text/csv"
        assert len(dictionaries) == 1, name
        [dictionary_path] = dictionaries
        dictionary = _csv(served[dictionary_path])
        assert dictionary[0] == ["variable", "descripcion", "tipo_de_dato"]
        described = [row[0] for row in dictionary[1:]]
        assert all(row[1] and row[2] for row in dictionary[1:]), name
        assert len(set(described)) == len(described)
        csv_path = next(p for p in served if p.endswith(".csv") and "diccionario" not in p)
        rows = _csv(served[csv_path])
        assert rows[0] == described, name  # every column in its dictionary and vice versa
        json_path = next(p for p in served if p.endswith(".json"))
        data = (await (await client.get(json_path)).json())[JSON_LISTS[name]]
        assert data, name
        for record in data:
            assert list(record) == described, name
        if name == "propuestas":
            header = rows[0]
            assert header.index("fecha") and rows[1][header.index("fecha")]
            datetime.strptime(rows[1][header.index("fecha")], "%Y-%m-%d")  # ISO 8601 date
            assert rows[1][header.index("vistas")] == "0"
        if any(p.endswith(".pdf") for p in served):
            pdf = next(body for p, body in served.items() if p.endswith(".pdf"))
            assert pdf.startswith(b"%PDF")
    assert names == {"propuestas", "participacion", "resultados"}


async def test_an_unknown_dictionary_is_a_404(client: TestClient) -> None:
    assert (await client.get("/datos/diccionario/nada.csv")).status == 404
    assert (await client.get("/datos/diccionario/..%2Fsecret.csv")).status == 404
