"""The public proposal pages in a real Chromium, on a phone: search, answer, links, privacy."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pypdfium2
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.services import certificates, participants, proposals, staff, staff_login
from pmd_domain.settings import Settings
from tests.browser import CSP_PROBE
from tests.factories import make_participant, make_proposal
from web.app import create_app
from web.keys import DATABASE
from web.links import RouterLinks
from web.proposals import PAGES

pytestmark = pytest.mark.browser
ANALYST = 7001
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
# Distinctive personal values planted in the database: none may reach a public page.
TELEGRAM_ID = "8817263544"
POSTAL_CODE = "42917"
NAME = "Zacarías Quetzalcóatl Ixtlilxóchitl"
LAMP = "La iluminación de la Peñita está apagada desde hace meses."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server(sqlite_url: str, consultation: Consultation) -> AsyncIterator[TestServer]:
    """The application on a known port, so that PMD_PUBLIC_URL is where the browser goes."""
    port = _free_port()
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL=f"http://127.0.0.1:{port}"
    )
    app = create_app(settings, consultation=consultation)
    async with TestServer(app, host="127.0.0.1", port=port) as running:
        app[PAGES].ttl = 0.5  # pages a visitor reloads show a change within half a second
        yield running


def _watch(page: Page, base: str) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    return errors, outside


async def _seed(server: TestServer, consultation: Consultation) -> dict[str, str]:
    async with server.app[DATABASE].transaction() as session:
        author = await make_participant(session, consultation, external_id=TELEGRAM_ID)
        await participants.record_answer(
            session,
            consultation=consultation,
            participant=author,
            question="postal_code",
            answer=POSTAL_CODE,
            now=utcnow(),
        )
        lamp = await make_proposal(
            session,
            consultation,
            author,
            topic="alumbrado",
            problem=LAMP,
            proposal="Cambiar las lámparas por luminarias LED y revisar el cableado.",
        )
        for number in range(3):
            await make_proposal(
                session,
                consultation,
                author,
                pillar="seguridad",
                topic="prevencion",
                problem=f"Falta vigilancia en el parque número {number}.",
            )
        issued = await certificates.issue(
            session, consultation=consultation, participant=author, name=NAME, now=utcnow()
        )
        await staff.add(session, user_id=ANALYST, role="analyst", now=utcnow())
        token = await staff_login.create_login_link(
            session, user_id=ANALYST, admin_ids=[], now=utcnow()
        )
    return {"lamp": str(lamp.folio), "token": token, "certificate": issued.token}


async def test_search_filters_and_the_answer_staff_record_in_the_panel(
    chromium: Browser, server: TestServer, consultation: Consultation, tmp_path: Path
) -> None:
    seeded = await _seed(server, consultation)
    base = str(server.make_url("/")).rstrip("/")
    context = await chromium.new_context(**PHONE)
    page = await context.new_page()
    await page.add_init_script(CSP_PROBE)
    errors, outside = _watch(page, base)

    await page.goto(f"{base}/propuestas")
    await expect(page.get_by_role("heading", name="Propuestas de la ciudadanía")).to_be_visible()
    # Accents and case ignored; the form works from the keyboard, without JavaScript.
    await page.get_by_label("Buscar en las propuestas").fill("PENITA iluminacion")
    await page.get_by_label("Buscar en las propuestas").press("Enter")
    results = page.locator("ol.proposals > li")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text(seeded["lamp"])
    await page.get_by_label("Buscar en las propuestas").fill("")
    await page.get_by_label("Eje").select_option("seguridad")
    await page.get_by_role("button", name="Buscar").click()
    await expect(results).to_have_count(3)
    await page.get_by_label("Eje").select_option("")
    await page.get_by_label("Tema").select_option("servicios.alumbrado")
    await page.get_by_label("Respuesta").select_option("sin_resultado")
    await page.get_by_role("button", name="Buscar").click()
    await expect(results).to_have_count(1)
    if os.environ.get("PMD_SCREENSHOT_DIR"):
        await page.screenshot(
            path=f"{os.environ['PMD_SCREENSHOT_DIR']}/propuestas.png", full_page=True
        )
    await page.get_by_role("link", name=seeded["lamp"]).click()
    await expect(page.get_by_role("heading", name=f"Propuesta {seeded['lamp']}")).to_be_visible()
    await expect(page.locator("[data-field=outcome]")).to_contain_text("aún no responde")
    public_url = page.url

    # Staff align it and record the outcome through the panel's forms.
    staff_page = await (await chromium.new_context()).new_page()
    link = RouterLinks(server.app.router, base).panel_login(seeded["token"])
    await staff_page.goto(link)
    await staff_page.wait_for_url(re.compile(r"/panel$"))  # the page moves on by itself
    await staff_page.get_by_role("link", name=seeded["lamp"]).click()
    await staff_page.get_by_label("2.5.1", exact=False).check()
    await staff_page.get_by_role("button", name="Guardar alineación").click()
    await expect(staff_page.get_by_role("status")).to_contain_text("Alineación guardada")
    await staff_page.get_by_label("Incluida en el PMD").check()
    await staff_page.get_by_label("Nota para la persona (opcional)").fill("Entra al programa 2024.")
    await staff_page.get_by_role("button", name="Guardar resultado").click()
    await expect(staff_page.get_by_role("status")).to_contain_text("Resultado guardado")

    async def answered() -> bool:
        await page.reload()
        return "Incluida en el PMD" in (await page.locator("[data-field=outcome]").inner_text())

    for _ in range(40):
        if await answered():
            break
        await page.wait_for_timeout(100)
    await expect(page.locator("[data-field=outcome]")).to_contain_text("Incluida en el PMD")
    await expect(page.locator(".answer")).to_contain_text("Entra al programa 2024.")
    await expect(page.locator("[data-field=actions]")).to_contain_text("2.5.1")
    await expect(page.locator(".timeline")).to_contain_text("Respondida")
    assert await page.locator('meta[property="og:url"]').get_attribute("content") == public_url
    whatsapp = await page.get_by_role("link", name="Compartir por WhatsApp").get_attribute("href")
    assert whatsapp is not None and whatsapp.startswith("https://wa.me/?text=")
    await expect(page.get_by_role("button", name="Copiar enlace")).to_be_visible()  # copy.js ran
    if os.environ.get("PMD_SCREENSHOT_DIR"):
        await page.screenshot(
            path=f"{os.environ['PMD_SCREENSHOT_DIR']}/propuesta.png", full_page=True
        )
    await page.screenshot(path=str(tmp_path / "propuesta.png"), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone

    await page.goto(f"{base}/resultados")
    await expect(page.locator('tr[data-action="2.5.1"] td').first).to_have_text("1")
    assert await page.evaluate("window.__csp") == []
    assert errors == [] and outside == []
    await context.close()


async def test_mi_participacion_and_the_verification_page_link_the_public_page(
    chromium: Browser, server: TestServer, consultation: Consultation
) -> None:
    seeded = await _seed(server, consultation)
    base = str(server.make_url("/")).rstrip("/")
    context = await chromium.new_context(**PHONE)
    page = await context.new_page()
    errors, outside = _watch(page, base)

    # The verification page of the certificate links the holder's published proposals.
    await page.goto(f"{base}/constancias/{seeded['certificate']}")
    await page.get_by_role("link", name=seeded["lamp"]).click()
    await expect(page.get_by_role("heading", name=f"Propuesta {seeded['lamp']}")).to_be_visible()

    # A citizen proposes in the browser chat; once published, Mi participación links it.
    await page.goto(f"{base}/participa")
    log = page.locator("#chat-log")
    await page.locator("#chat-log").get_by_role("button", name="Acepto", exact=True).last.click()
    for number in range(1, 5):
        await expect(log).to_contain_text(f"Pregunta {number} de 4")
        await log.get_by_role("button", name="Prefiero no decir", exact=True).last.click()
    await log.get_by_role("button", name="Hacer una propuesta").last.click()
    await log.get_by_role(
        "button", name="2. Servicios públicos y desarrollo sostenible"
    ).last.click()
    await log.get_by_role("button", name="Agua potable y drenaje").last.click()
    box = page.get_by_label("Escribe tu mensaje")
    await box.fill("No llega el agua a la calle Hidalgo desde el lunes.")
    await page.locator("#chat-form").get_by_role("button").click()
    await expect(log).to_contain_text("¿Qué propones?")
    await box.fill("Un calendario de pipas mientras reparan la red.")
    await page.locator("#chat-form").get_by_role("button").click()
    await log.get_by_role("button", name="Omitir").last.click()
    await log.get_by_role("button", name="Enviar").last.click()
    await expect(log).to_contain_text("PMD23-")
    folio = re.search(r"PMD23-\d{6}", await log.inner_text())
    assert folio is not None
    async with server.app[DATABASE].transaction() as session:
        record = await proposals.by_folio(session, folio=folio.group(0))
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="publish",
            staff_id=ANALYST,
            now=utcnow(),
        )
    await log.get_by_role("button", name="Mi participación").last.click()
    expected = f"{base}/propuestas/{folio.group(0)}"
    await expect(log).to_contain_text(f"Su página pública: {expected}")
    await page.goto(expected)
    await expect(page.locator("article.proposal")).to_contain_text(
        "No llega el agua a la calle Hidalgo"
    )
    assert errors == [] and outside == []
    await context.close()


async def test_no_personal_data_on_any_public_page(
    chromium: Browser, server: TestServer, consultation: Consultation
) -> None:
    seeded = await _seed(server, consultation)
    base = str(server.make_url("/")).rstrip("/")
    context = await chromium.new_context(**PHONE)
    page = await context.new_page()
    personal = {
        "telegram id": re.compile(rf"(?<!\d){TELEGRAM_ID}(?!\d)"),
        "postal code": re.compile(rf"(?<!\d){POSTAL_CODE}(?!\d)"),
        "certificate name": re.compile(re.escape(NAME.split()[1])),
    }
    pages = [
        "/",
        "/propuestas",
        f"/propuestas?q={seeded['lamp']}",
        f"/propuestas/{seeded['lamp']}",
        "/resultados",
        "/datos/",
        "/privacidad",
    ]
    files = [
        "/api/estadisticas",
        "/datos/propuestas.csv",
        "/datos/propuestas.json",
        "/datos/participacion.csv",
        "/datos/participacion.json",
        "/datos/resultados.csv",
        "/datos/resultados.json",
        "/datos/catalogo.json",
        "/datos/diccionario/propuestas.csv",
        "/datos/diccionario/participacion.csv",
        "/datos/diccionario/resultados.csv",
    ]
    seen: dict[str, str] = {}
    for path in pages:
        response = await page.goto(base + path)
        assert response is not None and response.status == 200, path
        seen[path] = await page.content()
        for link in await page.locator("a[href^='/']").evaluate_all("els => els.map(e => e.href)"):
            if "/constancias/" not in link and "/panel" not in link and "/participa" not in link:
                files.append(link.removeprefix(base))
    for path in sorted(set(files) - set(seen)):
        response = await page.request.get(base + path)
        assert response.status == 200, path
        body = await response.body()
        if path.endswith(".pdf"):
            pdf = pypdfium2.PdfDocument(body)
            seen[path] = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        elif path.endswith(".png") or "/graficas/" in path or path.startswith("/static/"):
            continue
        else:
            seen[path] = body.decode("utf-8", errors="replace")
    assert "/resultados.pdf" in seen and f"/propuestas/{seeded['lamp']}" in seen
    assert LAMP in seen[f"/propuestas/{seeded['lamp']}"]  # the search did look at real pages
    for path, content in seen.items():
        for what, pattern in personal.items():
            assert not pattern.search(content), f"{what} on {path}"
    await context.close()
