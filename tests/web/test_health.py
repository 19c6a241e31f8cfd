"""/healthz, security headers and kind error pages."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


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
