"""The first minutes in a real Chromium on a 390×844 phone screen: nothing lost, axe-clean.

Reload, Back and a second tab in the middle of a proposal show the conversation where
it is (the draft kept); an over-long text stays in the box; a message sent without a
connection stays with "Reintentar"; a keyboard-only journey reaches a folio; axe-core
finds no WCAG 2.2 AA violation on any page nor in any state of the chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, expect

from pmd_domain.consultation import Consultation
from pmd_domain.consultation.demo_exercise import demo_exercise_text
from pmd_domain.consultation.loader import parse_consultation
from pmd_domain.settings import Settings
from tests.axe import AXE_CONTEXT, need_axe, too_wide, violations
from tests.factories import make_certificate, make_participant, make_proposal
from web.app import create_app
from web.keys import DATABASE

pytestmark = pytest.mark.browser
PROBLEM = "Los autos pasan muy rápido frente a la escuela primaria."
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
async def server(sqlite_url: str, consultation: Consultation) -> AsyncIterator[TestServer]:
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://127.0.0.1"
    )
    async with TestServer(
        create_app(settings, consultation=consultation), host="127.0.0.1"
    ) as running:
        yield running


def base(server: TestServer) -> str:
    return str(server.make_url("/")).rstrip("/")


async def press(page: Page, label: str) -> None:
    """Press the last enabled button with this label."""
    await page.locator("#chat-log").get_by_role("button", name=label, exact=True).last.click()


async def say(page: Page, text: str) -> None:
    await page.get_by_label("Escribe tu mensaje").fill(text)
    await page.locator("#chat-form").get_by_role("button").click()


async def to_the_problem(page: Page, url: str) -> None:
    """Consent, skip the questions, and start a proposal up to "¿Cuál es el problema?"."""
    await page.goto(f"{url}/participa")
    log = page.locator("#chat-log")
    await press(page, "Acepto")
    for number in range(1, 5):
        await expect(log).to_contain_text(f"Pregunta {number} de 4")
        await press(page, "Prefiero no decir")
    await press(page, "Hacer una propuesta")
    await press(page, "3. Seguridad y paz ciudadana")
    await press(page, "Seguridad vial")
    await expect(log).to_contain_text("¿Cuál es el problema?")


async def finish(page: Page) -> None:
    """From "¿Qué propones?" to the folio; the preview shows the problem typed earlier."""
    log = page.locator("#chat-log")
    await say(page, "Un semáforo peatonal y reductores de velocidad.")
    await expect(log).to_contain_text("2040")
    await press(page, "Omitir")
    await expect(log.locator("li").last).to_contain_text(PROBLEM)
    await press(page, "Enviar")
    await expect(log).to_contain_text("PMD23-")


async def phone(chromium: Browser) -> BrowserContext:
    return await chromium.new_context(**PHONE)  # type: ignore[arg-type]


async def test_a_reload_mid_proposal_keeps_the_draft(chromium: Browser, server: TestServer) -> None:
    context = await phone(chromium)
    page = await context.new_page()
    await to_the_problem(page, base(server))
    await say(page, PROBLEM)
    await expect(page.locator("#chat-log")).to_contain_text("¿Qué propones?")
    await page.reload()
    log = page.locator("#chat-log")
    await expect(log.locator("li").last).to_contain_text("¿Qué propones?")
    await expect(log).to_contain_text("Seguridad vial")  # the history of the session
    await expect(log).not_to_contain_text("descartó")
    await finish(page)
    await context.close()


async def test_back_mid_proposal_keeps_the_draft(chromium: Browser, server: TestServer) -> None:
    context = await phone(chromium)
    page = await context.new_page()
    await to_the_problem(page, base(server))
    await say(page, PROBLEM)
    await expect(page.locator("#chat-log")).to_contain_text("¿Qué propones?")
    await page.get_by_role("link", name="Tablero").first.click()
    await page.wait_for_url(f"{base(server)}/")
    await page.go_back()
    log = page.locator("#chat-log")
    await expect(log.locator("li").last).to_contain_text("¿Qué propones?")
    await expect(log).not_to_contain_text("descartó")
    await finish(page)
    await context.close()


async def test_a_second_tab_mid_proposal_keeps_the_draft(
    chromium: Browser, server: TestServer
) -> None:
    context = await phone(chromium)
    first = await context.new_page()
    await to_the_problem(first, base(server))
    await say(first, PROBLEM)
    await expect(first.locator("#chat-log")).to_contain_text("¿Qué propones?")
    second = await context.new_page()
    await second.goto(f"{base(server)}/participa")
    log = second.locator("#chat-log")
    await expect(log.locator("li").last).to_contain_text("¿Qué propones?")
    await expect(log).not_to_contain_text("descartó")
    await finish(second)
    await context.close()


async def test_an_over_long_text_stays_in_the_box(chromium: Browser, server: TestServer) -> None:
    context = await phone(chromium)
    page = await context.new_page()
    await to_the_problem(page, base(server))
    box = page.get_by_label("Escribe tu mensaje")
    assert await box.get_attribute("maxlength") == "1000"
    await expect(page.locator("#chat-counter")).to_have_text("0 de 1000 caracteres")
    long = "La banqueta está rota. " * 60  # 1,380 characters pasted at once
    await box.evaluate(
        "(el, text) => { el.value = text; el.dispatchEvent(new Event('input')); }", long
    )
    await expect(page.locator("#chat-counter")).to_have_text(f"{len(long)} de 1000 caracteres")
    await page.locator("#chat-form").get_by_role("button").click()
    await expect(page.locator("#chat-status")).to_contain_text("el límite de este paso es 1000")
    assert await box.input_value() == long
    await expect(page.locator("#chat-log")).not_to_contain_text("La banqueta está rota.")
    await context.close()


async def test_a_message_sent_offline_stays_and_is_retried(
    chromium: Browser, server: TestServer
) -> None:
    context = await phone(chromium)
    page = await context.new_page()
    await to_the_problem(page, base(server))
    await context.set_offline(True)
    await say(page, PROBLEM)
    await expect(page.locator("#chat-status")).to_contain_text("revisa tu conexión")
    assert await page.get_by_label("Escribe tu mensaje").input_value() == PROBLEM
    retry = page.get_by_role("button", name="Reintentar")
    await expect(retry).to_be_visible()
    await context.set_offline(False)
    await retry.click()
    log = page.locator("#chat-log")
    await expect(log).to_contain_text("¿Qué propones?")
    await expect(retry).to_be_hidden()
    assert await page.get_by_label("Escribe tu mensaje").input_value() == ""
    await expect(log.locator("li.from-me").last).to_contain_text(PROBLEM)
    await context.close()


async def _tab_to(page: Page, label: str, most: int) -> int:
    """Press Tab until the focus is on ``label``; how many presses it took."""
    for tabs in range(most + 1):
        focused = await page.evaluate("document.activeElement && document.activeElement.innerText")
        if (focused or "").strip() == label:
            return tabs
        await page.keyboard.press("Tab")
    raise AssertionError(f"{label!r} not reached in {most} tabs")


async def test_a_keyboard_only_journey_to_a_folio(chromium: Browser, server: TestServer) -> None:
    context = await phone(chromium)
    page = await context.new_page()
    await page.goto(f"{base(server)}/participa")
    log = page.locator("#chat-log")
    await expect(log).to_contain_text("aviso de privacidad")

    async def choose(label: str, most: int = 4) -> None:
        await expect(log.get_by_role("button", name=label, exact=True).last).to_be_enabled()
        await page.wait_for_function("document.activeElement !== document.body")
        await _tab_to(page, label, most)
        await page.keyboard.press("Enter")

    await choose("Acepto")
    for number in range(1, 4):
        await expect(log).to_contain_text(f"Pregunta {number} de 4")
        await choose("Prefiero no decir", most=20)
    await expect(log).to_contain_text("Pregunta 4 de 4")
    await choose("Prefiero no decir", most=4)
    await expect(log).to_contain_text("¿Qué quieres hacer?")
    await choose("Hacer una propuesta", most=1)  # the focus is on the menu's first choice
    await choose("1. Bienestar social", most=1)
    await expect(log).to_contain_text("¿De qué tema?")
    await page.wait_for_function("document.activeElement !== document.body")
    await page.keyboard.press("Enter")  # the first topic
    await expect(log).to_contain_text("¿Cuál es el problema?")
    await expect(page.get_by_label("Escribe tu mensaje")).to_be_focused()
    await page.keyboard.type("Faltan médicos por la tarde en el centro de salud.")
    await page.keyboard.press("Enter")
    await expect(log).to_contain_text("¿Qué propones?")
    await expect(page.get_by_label("Escribe tu mensaje")).to_be_focused()
    await page.keyboard.type("Ampliar el horario con un turno vespertino.")
    await page.keyboard.press("Enter")
    await expect(log).to_contain_text("2040")
    await expect(page.get_by_label("Escribe tu mensaje")).to_be_focused()
    await page.keyboard.type("Un centro de salud abierto todo el día.")
    await page.keyboard.press("Enter")
    await expect(log).to_contain_text("Revisa")
    await choose("Enviar", most=1)
    await expect(log).to_contain_text("PMD23-")
    # old choices are off: they are not in the tab order any more
    enabled = await log.locator("button:not([disabled])").count()
    last = await log.locator("li").last.locator("button").count()
    assert enabled == last
    await context.close()


async def test_axe_is_really_looking(chromium: Browser, server: TestServer) -> None:
    need_axe()
    context = await chromium.new_context(**AXE_CONTEXT)
    page = await context.new_page()
    await page.goto(f"{base(server)}/privacidad")
    await page.evaluate("document.querySelector('main').innerHTML += '<img src=\"x.png\">'")
    assert any(v.startswith("image-alt") for v in await violations(page))
    await context.close()


async def _axe(page: Page, where: str, found: dict[str, list[str]]) -> None:
    problems = await violations(page) + await too_wide(page)
    if problems:
        found[where] = problems


async def test_axe_finds_nothing_on_any_page_nor_chat_state(
    chromium: Browser, server: TestServer, consultation: Consultation
) -> None:
    need_axe()
    url = base(server)
    context = await chromium.new_context(**AXE_CONTEXT)
    page = await context.new_page()
    found: dict[str, list[str]] = {}
    log = page.locator("#chat-log")
    await page.goto(f"{url}/participa")
    await expect(log).to_contain_text("aviso de privacidad")
    await _axe(page, "chat: greeting", found)
    await press(page, "Acepto")
    await expect(log).to_contain_text("Pregunta 1 de 4")
    await _axe(page, "chat: after consent", found)
    for number in range(1, 5):
        await expect(log).to_contain_text(f"Pregunta {number} de 4")
        await press(page, "Prefiero no decir")
    await expect(log).to_contain_text("¿Qué quieres hacer?")
    await _axe(page, "chat: menu", found)
    await press(page, "Hacer una propuesta")
    await press(page, "3. Seguridad y paz ciudadana")
    await press(page, "Seguridad vial")
    await say(page, PROBLEM)
    await expect(log).to_contain_text("¿Qué propones?")
    await _axe(page, "chat: after an answer", found)
    await say(page, "Un semáforo peatonal y reductores de velocidad.")
    await press(page, "Omitir")
    await expect(log.locator("li").last).to_contain_text("Revisa")
    await _axe(page, "chat: preview", found)
    await press(page, "Enviar")
    await expect(log).to_contain_text("PMD23-")
    await _axe(page, "chat: folio", found)
    await context.set_offline(True)
    await say(page, "hola")
    await expect(page.get_by_role("button", name="Reintentar")).to_be_visible()
    await _axe(page, "chat: offline", found)
    await context.set_offline(False)
    async with server.app[DATABASE].transaction() as session:
        author = await make_participant(session, consultation, external_id="770001")
        published = await make_proposal(session, consultation, author, problem=PROBLEM)
        make_certificate(session, author, name="Ana López", folio="C23-000077", token="V" * 32)
    for path in (
        f"/propuestas/{published.folio}",
        "/constancias/",
        "/constancias/" + "V" * 32,
        "/",
        "/privacidad",
        "/datos/",
        "/propuestas",
        "/resultados",
        "/propuestas/PMD23-999999",
        "/constancias/no-existe",
        "/no-existe",
    ):
        await page.goto(f"{url}{path}")
        await _axe(page, path, found)
    await page.goto(f"{url}/constancias/" + "V" * 32)  # the valid certificate was the page seen
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Constancia válida")
    await context.close()
    assert found == {}, "\n".join(f"{where}: {v}" for where, vs in found.items() for v in vs)


@pytest.fixture
async def demo_server(sqlite_url: str) -> AsyncIterator[TestServer]:
    demo = parse_consultation(demo_exercise_text(date.today()), name="demo")
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://127.0.0.1"
    )
    async with TestServer(create_app(settings, consultation=demo), host="127.0.0.1") as running:
        yield running


async def test_the_demonstration_says_so_and_who_is_behind_it_on_every_page(
    chromium: Browser, demo_server: TestServer
) -> None:
    need_axe()
    url = base(demo_server)
    context = await chromium.new_context(**AXE_CONTEXT)
    page = await context.new_page()
    found: dict[str, list[str]] = {}
    for path in ("/", "/participa", "/privacidad", "/propuestas", "/datos/", "/constancias/"):
        await page.goto(f"{url}{path}")
        await expect(page.locator(".demo-banner")).to_contain_text("Demostración")
        footer = page.locator("footer")
        await expect(footer).to_contain_text("Oficina de Planeación")
        await expect(footer.get_by_role("link", name="planeacion@ejemplo.invalid")).to_be_visible()
        await expect(footer).to_contain_text("Unidad de Transparencia")
        await _axe(page, path, found)
    await page.goto(f"{url}/privacidad")
    await expect(page.locator("main")).to_contain_text("Fundamento legal")
    await expect(page.locator("main")).to_contain_text("Ley General de Protección de Datos")
    await context.close()
    assert found == {}, "\n".join(f"{where}: {v}" for where, vs in found.items() for v in vs)
