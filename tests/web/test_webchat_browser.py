"""The browser chat in a real Chromium, on a phone screen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Proposal
from pmd_domain.settings import Settings
from tests.browser import CSP_PROBE
from web.app import create_app
from web.keys import DATABASE

pytestmark = pytest.mark.browser
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> fugas en la red'


@pytest.fixture
async def server(sqlite_url: str, consultation: Consultation) -> AsyncIterator[TestServer]:
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://127.0.0.1"
    )
    async with TestServer(
        create_app(settings, consultation=consultation), host="127.0.0.1"
    ) as running:
        yield running


async def press(page: Page, label: str) -> None:
    """Press the last button with this label."""
    await page.locator("#chat-log").get_by_role("button", name=label, exact=True).last.click()


async def say(page: Page, text: str) -> None:
    """Type a message and send it."""
    await page.get_by_label("Escribe tu mensaje").fill(text)
    await page.locator("#chat-form").get_by_role("button").click()


async def test_a_citizen_proposes_in_the_browser_safely(
    chromium: Browser, server: TestServer, tmp_path: Path
) -> None:
    context = await chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()
    await page.add_init_script(CSP_PROBE)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    outside: list[str] = []
    base = str(server.make_url("/")).rstrip("/")
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith((base, "blob:", "data:")) else None,
    )

    await page.goto(f"{base}/participa?fuente=volante_mercado")
    log = page.locator("#chat-log")
    await expect(log).to_contain_text("aviso de privacidad")
    await press(page, "Acepto")
    for number in range(1, 5):
        await expect(log).to_contain_text(f"Pregunta {number} de 4")
        await press(page, "Prefiero no decir")
    await press(page, "Hacer una propuesta")
    await press(page, "2. Servicios públicos y desarrollo sostenible")
    await press(page, "Agua potable y drenaje")
    await say(page, XSS)
    await expect(log).to_contain_text("¿Qué propones?")
    await say(page, "Reparar las fugas y publicar el calendario del tandeo.")
    await press(page, "Omitir")
    await press(page, "Enviar")
    await expect(log).to_contain_text("PMD23-")

    assert await page.evaluate("window.__pwned") is None
    await expect(log).to_contain_text("<script>window.__pwned=1</script>")
    assert await page.evaluate("window.__csp") == []
    assert errors == []
    assert outside == []
    await page.screenshot(path=str(tmp_path / "participa.png"), full_page=True)
    assert (tmp_path / "participa.png").stat().st_size > 10_000
    async with server.app[DATABASE].reading() as session:
        proposal = await session.scalar(select(Proposal))
    assert proposal is not None
    assert proposal.problem == XSS.strip()
    await context.close()
