"""The public figures protect the people behind them, tried as an outside observer would.

Everything here goes through the real web side: the dashboard page, its chart data,
``/api/estadisticas``, the open data files and the browser chat.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from pmd_domain.publication import HIDDEN
from pmd_domain.services import erasure, stats
from pmd_domain.settings import Settings
from tests.domain.test_publication import consistent_values
from tests.factories import make_participant, make_proposal
from web.app import create_app
from web.dashboard import SNAPSHOTS

K = 5
PAYLOAD = "vota_por_fulano_2027"
# 20 people: ten women, eight men, one non-binary person, one who did not say
PEOPLE = [("mujer", "fb_alcalde")] * 10 + [("hombre", "radio")] * 8 + [("otro", None), (None, None)]


@pytest.fixture
def consultation(consultation: Consultation) -> Consultation:
    """Breakdowns may be published again as soon as k changes add up (no waiting)."""
    limits = consultation.limits.model_copy(update={"publication_interval_minutes": 0})
    return consultation.model_copy(update={"limits": limits})


@pytest.fixture
async def people(sqlite_url: str, consultation: Consultation) -> list[int]:
    database = Database(sqlite_url)
    ids = []
    try:
        async with database.transaction() as session:
            for index, (gender, source) in enumerate(PEOPLE):
                person = await make_participant(
                    session, consultation, gender=gender, source=source, age_group="30_44"
                )
                ids.append(person.id)
                if index % 2 == 0:
                    pillar = "servicios" if index < 12 else "seguridad"
                    await make_proposal(
                        session,
                        consultation,
                        person,
                        pillar=pillar,
                        topic="agua" if pillar == "servicios" else "vialidad",
                    )
    finally:
        await database.dispose()
    return ids


@pytest.fixture
async def client(
    sqlite_url: str, consultation: Consultation, people: list[int]
) -> AsyncIterator[TestClient]:
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://testserver"
    )
    async with TestClient(TestServer(create_app(settings, consultation=consultation))) as client:
        yield client


async def _figures(client: TestClient) -> dict[str, Any]:
    client.app[SNAPSHOTS].expire()
    await client.app[SNAPSHOTS].fresh()
    return dict(await (await client.get("/api/estadisticas")).json())


def _people_counts(body: dict[str, Any]) -> list[object]:
    values: list[object] = []
    for items in body["participants"].values():
        values += [item["count"] for item in items]
    for table in body["crosstabs"].values():
        values += [cell for row in table["cells"] for cell in row]
    return values


def _allowed(value: object) -> bool:
    return value in (HIDDEN, 0, "0") or (str(value).isdigit() and int(str(value)) >= K)


async def test_no_count_of_people_under_k_in_the_json_csv_page_or_charts(
    client: TestClient,
) -> None:
    body = await _figures(client)
    counts = _people_counts(body)
    assert all(_allowed(v) for v in counts), counts
    gender = {item["key"]: item["count"] for item in body["participants"]["gender"]}
    assert gender == {"mujer": 10, "hombre": HIDDEN, "otro": HIDDEN, "sin_respuesta": HIDDEN}

    text = (await (await client.get("/datos/participacion.csv")).read()).decode()
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    people_rows = [
        r for r in rows if r["medida"] == "participantes" and r["dimension"] != "total"
    ] + [r for r in rows if ":" in r["dimension"]]
    assert people_rows and all(_allowed(r["valor"]) for r in people_rows)

    html = await (await client.get("/")).text()
    tables = re.findall(
        r'<table data-(?:series="participants\.[a-z_]+"|crosstab="[a-z_:]+")>(.*?)</table>',
        html,
        flags=re.S,
    )
    assert len(tables) == 5 + 3
    cells = [c.strip() for t in tables for c in re.findall(r'<td class="num">([^<]*)</td>', t)]
    assert cells and all(_allowed(c.replace(",", "")) for c in cells), cells

    published = await client.app[SNAPSHOTS].get()
    for name, spec in published.charts.items():
        if name.startswith("participantes-"):
            assert all(v is None or v == 0 or v >= K for v in spec["values"]), (name, spec)
    assert "(reservado)" in " ".join(published.charts["participantes-genero"]["labels"])


async def test_a_hidden_cell_cannot_be_recovered_from_the_published_margins(
    client: TestClient, sqlite_url: str
) -> None:
    body = await _figures(client)
    total = body["breakdowns"]["participants"]
    assert total == body["totals"]["participants"] == len(PEOPLE)
    published = [item["count"] for item in body["participants"]["gender"]]
    true = [10, 8, 1, 1]
    assert sum(true) == total
    for cell, values in consistent_values(true, published, [list(range(4))]).items():
        assert len(values) >= 2 and 0 in values, (cell, values)
    # the cross-tabulation, against the proposals per pillar that are published exactly
    table = body["crosstabs"]["gender:pillar"]
    cols = [c["key"] for c in table["cols"]]
    margins = {item["key"]: item["count"] for item in body["proposals"]["pillar"]}
    column = cols.index("seguridad")
    shown = [row[column] for row in table["cells"]]
    assert HIDDEN in shown
    true_column = [0, 3, 1, 0]  # people 12, 14, 16 (men) and 18 (non-binary) wrote about safety
    assert sum(true_column) == margins["seguridad"]
    for cell, values in consistent_values(true_column, shown, [list(range(4))]).items():
        assert len(values) >= 2, (cell, values)


async def test_two_snapshots_around_one_participation_show_no_change_in_the_breakdowns(
    client: TestClient, sqlite_url: str, consultation: Consultation
) -> None:
    before = await _figures(client)
    database = Database(sqlite_url)
    try:
        async with database.transaction() as session:
            newcomer = await make_participant(session, consultation, gender="otro", sector="hogar")
            await make_proposal(
                session, consultation, newcomer, pillar="gobierno", topic="tramites"
            )
        after = await _figures(client)
        assert after["totals"]["participants"] == before["totals"]["participants"] + 1
        assert after["totals"]["proposals"] == before["totals"]["proposals"] + 1
        for part in ("breakdowns", "participants", "proposals", "supports", "crosstabs"):
            assert after[part] == before[part], part
        # 2k - 1 people later the breakdowns are published again, with everyone (a
        # series moves with that much change of its own: services/disclosure)
        async with database.transaction() as session:
            for _ in range(2 * K - 2):
                await make_participant(session, consultation, gender="mujer")
        later = await _figures(client)
        assert later["breakdowns"]["version"] == before["breakdowns"]["version"] + 1
        assert later["breakdowns"]["participants"] == len(PEOPLE) + 2 * K - 1
    finally:
        await database.dispose()


async def test_a_visitor_chosen_payload_is_never_printed(client: TestClient) -> None:
    await client.get("/participa")
    headers = {"Origin": f"http://{client.host}:{client.port}"}
    start = await client.post(
        "/participa/mensajes", json={"kind": "start", "text": PAYLOAD}, headers=headers
    )
    greeting = (await start.json())["replies"][0]
    accept = next(b for row in greeting["buttons"] for b in row if b["label"] == "Acepto")
    assert PAYLOAD not in accept["data"]
    await client.post(
        "/participa/mensajes", json={"kind": "button", "data": accept["data"]}, headers=headers
    )
    body = await _figures(client)
    sources = {item["key"] for item in body["participants"]["source"]}
    assert "otra" in sources and PAYLOAD not in sources
    published = await client.app[SNAPSHOTS].get()
    for path in ("/", "/api/estadisticas", "/datos/participacion.csv", "/datos/participacion.json"):
        assert PAYLOAD not in await (await client.get(path)).text(), path
    for spec in published.charts.values():
        assert PAYLOAD not in str(spec)


async def test_open_data_defuses_spreadsheet_formulas(
    client: TestClient, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    texts = ['=HYPERLINK("http://x.example","clic")', "@SUMA(A1:A9)", "+52 771 000", "-1+1"]
    try:
        async with database.transaction() as session:
            author = await make_participant(session, consultation)
            for text in texts:
                await make_proposal(
                    session, consultation, author, proposal=text + " para arreglar la calle"
                )
    finally:
        await database.dispose()
    raw = (await (await client.get("/datos/propuestas.csv")).read()).decode()
    rows = list(csv.DictReader(io.StringIO(raw.removeprefix("\ufeff"))))
    shown = {r["propuesta"] for r in rows}
    for text in texts:
        assert f"'{text} para arreglar la calle" in shown
        assert f"{text} para arreglar la calle" not in shown
    as_json = await (await client.get("/datos/propuestas.json")).json(content_type=None)
    assert {p["propuesta"] for p in as_json["propuestas"]} >= {
        f"{t} para arreglar la calle" for t in texts
    }


async def test_an_erased_participant_is_no_longer_counted(
    client: TestClient, sqlite_url: str, consultation: Consultation, people: list[int]
) -> None:
    await _figures(client)
    database = Database(sqlite_url)
    try:
        lone = people[PEOPLE.index(("otro", None))]
        async with database.transaction() as session:
            await erasure.erase(
                session, consultation=consultation, participant_id=lone, now=utcnow()
            )
        async with database.reading() as session:
            left = await session.get(Participant, lone)
            assert left is not None and left.gender is None
        # the erasure waits, like any change, for a batch where each series changed by
        # 2k - 1 (services/disclosure): 2k more people, less her
        async with database.transaction() as session:
            for _ in range(2 * K):
                await make_participant(session, consultation, gender="mujer")
        body = await _figures(client)
    finally:
        await database.dispose()
    assert body["totals"]["participants"] == len(PEOPLE) - 1 + 2 * K
    assert body["breakdowns"]["participants"] == body["totals"]["participants"]
    # the only non-binary person is gone from every count: the column of her proposal and
    # the series add up without her
    reader = Database(sqlite_url)
    async with reader.reading() as session:
        live = await stats.counters(session)
    await reader.dispose()
    assert live[("participants", "gender")].get("otro", 0) == 0
    assert sum(live[("participants", "gender")].values()) == body["totals"]["participants"]
    assert sum(live[("proposals", "gender:pillar")].values()) == body["totals"]["proposals"]
    assert live[("proposals", "gender:pillar")].get("otro|seguridad", 0) == 0
    gender = {item["key"]: item["count"] for item in body["participants"]["gender"]}
    assert gender["otro"] in (0, HIDDEN)
