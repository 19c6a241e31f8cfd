"""The staff area in a real Chromium: log in by link, filter, read safely, record an outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Notification, Proposal
from pmd_domain.services import staff, staff_login
from pmd_domain.settings import Settings
from tests.browser import CSP_PROBE
from tests.factories import make_participant, make_proposal
from web.app import create_app
from web.keys import DATABASE
from web.links import RouterLinks

pytestmark = pytest.mark.browser
ANALYST = 8100
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> baches enormes'


@pytest.fixture
async def server(sqlite_url: str, consultation: Consultation) -> AsyncIterator[TestServer]:
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://127.0.0.1"
    )
    async with TestServer(
        create_app(settings, consultation=consultation), host="127.0.0.1"
    ) as running:
        yield running


async def test_an_analyst_reviews_in_the_browser(
    chromium: Browser, server: TestServer, consultation: Consultation, tmp_path: Path
) -> None:
    database = server.app[DATABASE]
    async with database.transaction() as session:
        await staff.add(session, user_id=ANALYST, role="analyst", now=utcnow())
        author = await make_participant(session, consultation, external_id="990011")
        for number in range(6):
            await make_proposal(
                session, consultation, author, problem=f"Fugas de agua en la calle {number}."
            )
        target = await make_proposal(
            session, consultation, author, pillar="servicios", topic="movilidad", problem=XSS
        )
        token = await staff_login.create_login_link(
            session, user_id=ANALYST, admin_ids=[], now=utcnow()
        )
    base = str(server.make_url("/")).rstrip("/")
    link = RouterLinks(server.app.router, base).panel_login(token)

    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.add_init_script(CSP_PROBE)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside: list[str] = []
    elsewhere = base.replace("127.0.0.1", "localhost")
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith((base, elsewhere)) else None,
    )

    # The link is followed from another site (as from Telegram Web): the SameSite=Strict
    # session must still be there when the panel opens.
    await page.goto(f"{elsewhere}/privacidad")
    await page.evaluate(
        "link => { const a = document.createElement('a'); a.href = link; a.id = 'go';"
        " a.textContent = 'panel'; document.body.append(a); }",
        link,
    )
    await page.click("#go")
    await page.wait_for_url(f"{base}/panel")
    await expect(page.get_by_role("heading", name="Propuestas", exact=True)).to_be_visible()
    await page.get_by_label("Tema").select_option("servicios.movilidad")
    await page.get_by_role("button", name="Filtrar").click()
    await expect(page.locator("#resumen")).to_contain_text("1 propuesta")
    await page.screenshot(path=str(tmp_path / "panel-lista.png"), full_page=True)
    await page.get_by_role("link", name=str(target.folio)).click()

    await expect(page.locator("#problema")).to_have_text(XSS)
    assert await page.evaluate("window.__pwned") is None
    await page.get_by_label("2.4.1", exact=False).check()
    await page.get_by_role("button", name="Guardar alineación").click()
    await expect(page.get_by_role("status")).to_contain_text("Alineación guardada")
    await page.get_by_label("Incluida en el PMD").check()
    await page.get_by_label("Nota para la persona (opcional)").fill("Entra en la acción 2.4.1.")
    await page.get_by_role("button", name="Guardar resultado").click()
    await expect(page.get_by_role("status")).to_contain_text("Resultado guardado")
    await page.screenshot(path=str(tmp_path / "panel-propuesta.png"), full_page=True)
    assert (tmp_path / "panel-propuesta.png").stat().st_size > 10_000

    assert await page.evaluate("window.__csp") == []
    assert errors == []
    assert outside == []
    async with database.reading() as session:
        stored = await session.get(Proposal, target.id)
        assert stored is not None and stored.outcome == "incluida"
        assert stored.outcome_note == "Entra en la acción 2.4.1."
        assert len(list(await session.scalars(select(Notification)))) == 1

    await page.get_by_role("button", name="Salir").click()
    await expect(page.get_by_role("heading", name="Sesión cerrada")).to_be_visible()
    await page.goto(link)  # a used link does not open the door again
    await expect(page.get_by_text("El enlace ya no es válido")).to_be_visible()
    await context.close()
