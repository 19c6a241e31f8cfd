"""The dashboard in a real Chromium: figures, live updates, escaping, CSP, phone layout."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.publication import HIDDEN
from pmd_domain.settings import Settings
from tests.browser import CSP_PROBE
from tests.factories import make_participant, make_proposal
from tests.web import dashboard_data
from web.app import create_app
from web.dashboard import POLL_MS

pytestmark = pytest.mark.browser


@pytest.fixture
def consultation(consultation: Consultation) -> Consultation:
    """Breakdowns published again as soon as k changes add up."""
    limits = consultation.limits.model_copy(update={"publication_interval_minutes": 0})
    return consultation.model_copy(update={"limits": limits})


@pytest.fixture
async def server(sqlite_url: str, consultation: Consultation) -> AsyncIterator[TestServer]:
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://127.0.0.1"
    )
    app = create_app(settings, consultation=consultation)
    app[POLL_MS] = 400  # the page polls faster than the default 5 s
    async with TestServer(app, host="127.0.0.1") as running:
        yield running


async def test_dashboard_live_safe_and_on_a_phone(
    chromium: Browser,
    server: TestServer,
    sqlite_url: str,
    consultation: Consultation,
    tmp_path: Path,
) -> None:
    database = Database(sqlite_url)
    known = await dashboard_data.build(database, consultation)
    xss_text = await dashboard_data.add_xss_proposal(database, consultation)
    base = str(server.make_url("/")).rstrip("/")

    context = await chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()
    await page.add_init_script(CSP_PROBE)
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    response = await page.goto(base + "/")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]

    # (a) the figures of the known data set: five participants (four + the XSS author)
    assert await page.locator("[data-total=participants]").text_content() == "5"
    assert await page.locator("[data-total=supports]").text_content() == "1"
    # five people: every count of them is reserved
    mujer = page.locator("table[data-series='participants.gender'] tr", has_text="Mujer")
    assert await mujer.locator("td").text_content() == HIDDEN
    cross = page.locator("table[data-crosstab='gender:pillar'] tr", has_text="Hombre")
    assert HIDDEN in (await cross.text_content() or "")
    assert "se publicaron por última vez el" in (
        await page.locator("[data-field=breakdowns]").text_content() or ""
    )
    assert await page.locator("ol[data-top=servicios] li").first.text_content() is not None
    assert known.supported_folio in (
        await page.locator("ol[data-top=servicios] li").first.text_content() or ""
    )
    assert await page.locator("html").get_attribute("lang") == "es-MX"

    # (c) hostile text is shown as text and runs nothing
    gobierno = page.locator("ol[data-top=gobierno]")
    assert dashboard_data.XSS_SCRIPT in (await gobierno.text_content() or "")
    assert dashboard_data.XSS_IMG in (await gobierno.text_content() or "")
    assert await page.evaluate("window.__pwned") is None
    assert xss_text

    # (b) a new participation appears without reload; its hostile text arrives by the JS path
    gender_chart = page.locator("img[data-chart=participantes-genero]")
    chart_before = await gender_chart.get_attribute("src")
    published = page.locator("[data-field=published]")
    published_before = await published.text_content()
    async with database.transaction() as session:
        person = await make_participant(session, consultation, external_id="777000111")
        await make_proposal(
            session,
            consultation,
            person,
            pillar="gobierno",
            topic="transparencia",
            proposal=f"En vivo {dashboard_data.XSS_IMG} {dashboard_data.XSS_SCRIPT}",
        )
    await page.wait_for_function(
        "() => document.querySelector('[data-total=participants]').textContent === '6'",
        timeout=20_000,
    )
    assert await page.locator("[data-total=proposals]").text_content() == "10"
    assert "En vivo <img src=x" in (await gobierno.text_content() or "")
    assert "6 participantes" in (await page.locator("#anuncio").text_content() or "")
    assert await mujer.locator("td").text_content() == HIDDEN  # one more person: no new batch
    assert await gender_chart.get_attribute("src") == chart_before
    # enough new people for a new batch: the tables are rebuilt in place
    async with database.transaction() as session:
        for gender in ["mujer"] * 6 + ["hombre"] * 5:
            await make_participant(session, consultation, gender=gender)
    await database.dispose()
    await page.wait_for_function(
        "() => document.querySelector(\"table[data-series='participants.gender'] td\")"
        ".textContent === '8'",
        timeout=20_000,
    )
    assert await gender_chart.get_attribute("src") != chart_before  # new chart version
    assert await published.text_content() != published_before
    assert await page.evaluate("window.__pwned") is None
    injected = "document.querySelectorAll('ol[data-top] img, ol[data-top] script').length"
    assert await page.evaluate(injected) == 0

    # charts: every image loads, from this server, with alt text
    images = page.locator("img.chart")
    for index in range(await images.count()):
        image = images.nth(index)
        await image.scroll_into_view_if_needed()
        assert (await image.get_attribute("alt") or "").startswith("Gráfica: ")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('img.chart')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=20_000,
    )

    # keyboard: the first Tab reaches the skip link
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"

    # (e) phone screenshot
    await page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "tablero-telefono.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("PMD_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["PMD_SCREENSHOT_DIR"]) / shot.name)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing overflows sideways on a phone

    # (d) no console errors, no CSP violations, nothing loaded from outside
    for path in ("/datos/", "/privacidad"):
        other = await page.goto(base + path)
        assert other is not None and other.status == 200
        assert "default-src 'self'" in (await other.all_headers())["content-security-policy"]
    assert errors == []
    assert await page.evaluate("window.__csp") == []
    assert requests and all(url.startswith(base + "/") for url in requests), requests
    await context.close()
