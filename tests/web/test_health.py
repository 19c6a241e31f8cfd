"""/healthz, security headers and kind error pages."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from web.keys import DATABASE


async def test_healthz_reports_database_and_bot(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok", "bot": "disabled"}


async def test_every_response_has_a_csp(client: TestClient) -> None:
    for path in ("/healthz", "/no-existe"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_unknown_page_is_a_kind_404_in_spanish(client: TestClient) -> None:
    response = await client.get("/no-existe/<script>")
    assert response.status == 404
    body = await response.text()
    assert "Página no encontrada" in body
    assert "<script>" not in body
    assert "Traceback" not in body


async def test_healthz_says_so_while_writes_are_failing(client: TestClient) -> None:
    """A database that answers reads but refuses writes (here: its file may not grow)."""
    database = client.server.app[DATABASE]
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE ballast (body BLOB)"))
        pages = (await session.execute(text("PRAGMA page_count"))).scalar_one()
        await session.execute(text(f"PRAGMA max_page_count={pages + 1}"))
    with pytest.raises(OperationalError):
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO ballast VALUES (randomblob(100000))"))
    response = await client.get("/healthz")
    assert response.status == 503
    assert await response.json() == {"status": "error", "database": "failing", "bot": "disabled"}
    async with database.transaction() as session:
        await session.execute(text("PRAGMA max_page_count=1073741823"))
        await session.execute(text("INSERT INTO ballast VALUES (randomblob(100000))"))
    response = await client.get("/healthz")
    assert response.status == 200
