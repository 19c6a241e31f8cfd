"""Staff work from the web panel alone, in a real Chromium on a phone-sized screen.

A moderator without Telegram (added by e-mail) publishes, rejects with a reason and
reassigns, the reported proposal first; an admin revokes a certificate and its
verification page says so; a campaign is composed, previewed, sent to a few hundred
chats through the local Bot API server, paused and resumed; an analyst's direct POSTs
are refused by the server; after logout and after a removal the old cookie opens
nothing.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import AuditEntry, Campaign, Certificate, Notification, Proposal
from pmd_domain.services import staff, staff_login
from pmd_domain.settings import Settings
from tests.axe import too_wide
from tests.botapi import DEFAULT_TOKEN, BotApiServer
from tests.browser import CSP_PROBE
from tests.factories import (
    make_certificate,
    make_participant,
    make_proposal,
    make_recipients,
    report_proposal,
)
from web.app import create_app
from web.keys import DATABASE
from web.links import RouterLinks
from web.panel.session import COOKIE

pytestmark = pytest.mark.browser
ADMIN, ANALYST = 8201, 8203
PHONE = {"width": 390, "height": 844}

CHATS = range(70_001, 70_301)  # 300 citizens who will receive the campaign
CERT_TOKEN = "Q" * 32


@pytest.fixture
async def server(sqlite_url: str, consultation: Consultation) -> AsyncIterator[TestServer]:
    settings = Settings(
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://127.0.0.1"
    )
    async with TestServer(
        create_app(settings, consultation=consultation), host="127.0.0.1"
    ) as running:
        yield running


async def link_for(server: TestServer, user_id: int) -> str:
    async with server.app[DATABASE].transaction() as session:
        token = await staff_login.create_login_link(
            session, user_id=user_id, admin_ids=[], now=utcnow()
        )
    return RouterLinks(server.app.router, str(server.make_url("/")).rstrip("/")).panel_login(token)


class Watched:
    """A phone-sized page that records CSP violations, script errors and outside requests."""

    def __init__(self, context: BrowserContext, page: Page, base: str) -> None:
        self.context, self.page, self.base = context, page, base
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "request",
            lambda r: self.outside.append(r.url) if not r.url.startswith(base) else None,
        )

    async def clean(self, *, refused: bool = False) -> None:
        """No CSP violation, script error or outside request (``refused``: 403 pages were
        loaded on purpose, and the browser logs each)."""
        assert await self.page.evaluate("window.__csp") == []
        errors = [e for e in self.errors if not (refused and "status of 403" in e)]
        assert errors == [] and self.outside == []

    async def cookie(self) -> str:
        return next(c["value"] for c in await self.context.cookies() if c["name"] == COOKIE)

    async def fits_the_screen(self) -> None:
        width = await self.page.evaluate(
            "Math.max(innerWidth, document.documentElement.scrollWidth)"
        )
        assert width <= PHONE["width"], (width, await too_wide(self.page))


async def watched(chromium: Browser, server: TestServer, **options: Any) -> Watched:
    context = await chromium.new_context(viewport=PHONE, is_mobile=True, **options)
    page = await context.new_page()
    await page.add_init_script(CSP_PROBE)
    return Watched(context, page, str(server.make_url("/")).rstrip("/"))


async def test_a_moderator_with_only_the_web_panel_moderates(
    chromium: Browser, server: TestServer, consultation: Consultation
) -> None:
    database = server.app[DATABASE]
    async with database.transaction() as session:
        member = await staff.add_web(
            session, email="lucia@pachuca.gob.mx", name="Lucía", role="moderator", now=utcnow()
        )
        author = await make_participant(session, consultation, external_id="880011")
        first = await make_proposal(
            session, consultation, author, problem="Fugas de agua en la calle.", publish=False
        )
        second = await make_proposal(
            session, consultation, author, problem="<b>Baches</b> enormes.", publish=False
        )
        third = await make_proposal(
            session, consultation, author, problem="Falta alumbrado.", publish=False
        )
        reported = await make_proposal(session, consultation, author, problem="Publicidad aquí.")
        await report_proposal(session, consultation, reported.id, times=3)
    moderator = await watched(chromium, server)
    page = moderator.page
    await page.goto(await link_for(server, member.user_id))
    await page.wait_for_url(re.compile(r"/panel$"))
    await page.get_by_role("link", name="Moderación").click()

    # The reported proposal comes first; a citizen's markup is shown as typed.
    await expect(page.locator("#folio-actual")).to_have_text(f"Propuesta {reported.folio}")
    await expect(page.get_by_text("Reportada por la ciudadanía 3 veces")).to_be_visible()
    await moderator.fits_the_screen()
    await page.get_by_label("Es publicidad o propaganda.").check()
    await page.get_by_role("button", name="Rechazar", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text(f"{reported.folio} quedó rechazada")

    await expect(page.locator("#folio-actual")).to_have_text(f"Propuesta {first.folio}")
    await page.get_by_role("button", name="Publicar").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{first.folio} quedó publicada")

    await expect(page.locator("#folio-actual")).to_have_text(f"Propuesta {second.folio}")
    await expect(page.get_by_text("<b>Baches</b> enormes.")).to_be_visible()
    await page.get_by_label("U otro motivo").fill("Ya existe una propuesta igual.")
    await page.get_by_role("button", name="Rechazar", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text(f"{second.folio} quedó rechazada")

    await expect(page.locator("#folio-actual")).to_have_text(f"Propuesta {third.folio}")
    topic = consultation.pillar("seguridad").topics[0]  # type: ignore[union-attr]
    await page.get_by_label("Nuevo tema").select_option(f"seguridad.{topic.key}")
    await page.get_by_role("button", name="Reasignar tema", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text(f"{third.folio} tiene tema nuevo")
    await expect(page.locator("#folio-actual")).to_have_text(f"Propuesta {third.folio}")
    await page.get_by_role("button", name="Publicar").click()
    await expect(page.get_by_text("No hay propuestas por moderar.")).to_be_visible()
    await moderator.clean()

    async with database.reading() as session:
        stored = {p.id: p for p in await session.scalars(select(Proposal))}
        told = [
            (n.text_key, n.params.get("folio"))
            for n in await session.scalars(select(Notification).order_by(Notification.id))
        ]
        audited = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert stored[reported.id].status == "rejected"
    assert stored[second.id].moderation_reason == "Ya existe una propuesta igual."
    assert (stored[third.id].pillar, stored[third.id].status) == ("seguridad", "published")
    # The authors are told as from the bot (a reported proposal's author again, rejected).
    assert told == [
        ("notify.rejected", reported.folio),
        ("notify.published", first.folio),
        ("notify.rejected", second.folio),
        ("notify.published", third.folio),
    ]
    assert audited == [
        "moderation.reject",
        "moderation.publish",
        "moderation.reject",
        "moderation.reassign",
        "moderation.publish",
    ]

    # Logging out ends the session on the server: the old cookie opens nothing.
    old = await moderator.cookie()
    await page.get_by_role("button", name="Salir").click()
    await expect(page.get_by_role("heading", name="Sesión cerrada")).to_be_visible()
    await moderator.context.add_cookies(
        [{"name": COOKIE, "value": old, "url": f"{moderator.base}/panel"}]
    )
    response = await page.goto(f"{moderator.base}/panel/moderar")
    assert response is not None and response.status == 403
    await moderator.context.close()


async def test_an_admin_revokes_manages_the_team_and_an_analyst_is_refused(
    chromium: Browser, server: TestServer, consultation: Consultation
) -> None:
    database = server.app[DATABASE]
    async with database.transaction() as session:
        await staff.add(session, user_id=ADMIN, role="admin", now=utcnow())
        await staff.add(session, user_id=ANALYST, role="analyst", now=utcnow())
        author = await make_participant(session, consultation, external_id="880012")
        waiting = await make_proposal(session, consultation, author, publish=False)
        make_certificate(session, author, name="Ana López", folio="C23-000031", token=CERT_TOKEN)

    # An analyst sees no moderation and gets 403 for direct POSTs with a genuine token.
    analyst = await watched(chromium, server)
    await analyst.page.goto(await link_for(server, ANALYST))
    await analyst.page.wait_for_url(re.compile(r"/panel$"))
    await expect(analyst.page.get_by_role("link", name="Moderación")).to_have_count(0)
    csrf = await analyst.page.locator('input[name="csrf"]').first.get_attribute("value")
    assert csrf
    for path, form in (
        (f"/panel/moderar/{waiting.id}", {"decision": "publicar"}),
        ("/panel/constancias/revocar", {"folio": "C23-000031", "motivo": "Porque sí"}),
        ("/panel/equipo/agregar", {"telegram": str(ANALYST), "rol": "admin"}),
        ("/panel/difusiones/enviar", {"texto": "Hola", "audiencia": "all"}),
    ):
        answer = await analyst.page.request.post(
            f"{analyst.base}{path}", form={"csrf": csrf, **form}, max_redirects=0
        )
        assert answer.status == 403, path
        assert "Sin permiso" in await answer.text()
    analyst_cookie = await analyst.cookie()

    admin = await watched(chromium, server)
    page = admin.page
    await page.goto(await link_for(server, ADMIN))
    await page.wait_for_url(re.compile(r"/panel$"))
    verification = f"{admin.base}/constancias/{CERT_TOKEN}"
    await page.goto(verification)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Constancia válida")
    await page.goto(f"{admin.base}/panel/constancias")
    await page.get_by_label("Folio de la constancia").fill("C23-000031")
    await page.get_by_label("Motivo").fill("Se emitió con un nombre equivocado.")
    await page.get_by_role("button", name="Revocar").click()
    await expect(page.get_by_role("status")).to_contain_text("Constancia revocada")
    await admin.fits_the_screen()
    await page.goto(verification)
    deadline = time.monotonic() + 5
    while "Constancia revocada" not in (await page.locator("h1").inner_text()):
        assert time.monotonic() < deadline, "the verification page never said so"
        await asyncio.sleep(0.3)
        await page.reload()
    await expect(page.locator("body")).to_contain_text("Se emitió con un nombre equivocado.")

    # The admin removes the analyst: the analyst's open session is refused at once.
    await page.goto(f"{admin.base}/panel/equipo")
    await admin.fits_the_screen()
    row = page.get_by_role("row").filter(has_text=f"Telegram {ANALYST}")
    await row.get_by_role("button", name="Quitar").click()
    await expect(page.get_by_role("status")).to_contain_text("ya no es parte del equipo")
    await analyst.context.clear_cookies()
    await analyst.context.add_cookies(
        [{"name": COOKIE, "value": analyst_cookie, "url": f"{analyst.base}/panel"}]
    )
    response = await analyst.page.goto(f"{analyst.base}/panel")
    assert response is not None and response.status == 403
    await admin.clean()
    await analyst.clean(refused=True)

    async with database.reading() as session:
        certificate = await session.scalar(select(Certificate))
        audited = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        pending = await session.get(Proposal, waiting.id)
    assert certificate is not None and certificate.revoked_at is not None
    assert pending is not None and pending.status == "pending"
    assert audited == ["certificate.revoke", "staff.remove"]
    await admin.context.close()
    await analyst.context.close()


@pytest.fixture
async def hosted(
    sqlite_url: str, consultation: Consultation, botapi: BotApiServer
) -> AsyncIterator[TestServer]:
    """The web side with its bot, against the local Bot API server (as ``pmd serve``)."""
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=sqlite_url,
        PMD_PUBLIC_URL="http://127.0.0.1",
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=botapi.url,
        PMD_BROADCAST_RATE="60",
    )
    async with TestServer(
        create_app(settings, consultation=consultation), host="127.0.0.1"
    ) as running:
        yield running


async def test_a_campaign_is_composed_previewed_sent_paused_and_resumed(
    chromium: Browser, hosted: TestServer, consultation: Consultation, botapi: BotApiServer
) -> None:
    database = hosted.app[DATABASE]
    botapi.add_users(CHATS)
    async with database.transaction() as session:
        await staff.add(session, user_id=ADMIN, role="admin", now=utcnow())
        await make_recipients(session, consultation, CHATS)
    admin = await watched(chromium, hosted)
    page = admin.page
    await page.goto(await link_for(hosted, ADMIN))
    await page.wait_for_url(re.compile(r"/panel$"))
    await page.get_by_role("link", name="Difusiones").click()
    text = "¡Faltan 3 días para votar! Entra al bot y apoya las propuestas de tu colonia."
    await page.get_by_label("Mensaje").fill(text)
    await page.get_by_label("Texto del botón").fill("Votar")
    await page.get_by_label("Enlace del botón").fill("https://pachuca.gob.mx/pmd")
    await page.get_by_label("Audiencia").select_option("all")
    await admin.fits_the_screen()
    await page.get_by_role("button", name="Ver vista previa").click()

    await expect(page.locator("#vista-texto")).to_have_text(text)
    await expect(page.locator("#tamano")).to_contain_text("Se enviará a 300 personas")
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 0
    await page.get_by_role("button", name="Enviar").click()
    await page.wait_for_url(re.compile(r"/panel/difusiones/\d+$"))
    campaign_url = page.url
    await page.get_by_role("button", name="Pausar").click()
    await expect(page.get_by_role("status").first).to_contain_text("Difusión en pausa")
    await expect(page.locator("#estado")).to_contain_text("en pausa")

    def delivered() -> dict[int, int]:
        return {c: sum(1 for m in botapi.messages_to(c) if m.text == text) for c in CHATS}

    await asyncio.sleep(1.0)  # the sender puts back what it had not sent
    paused_at = sum(delivered().values())
    await asyncio.sleep(1.0)
    assert sum(delivered().values()) == paused_at < len(CHATS)  # nothing goes out while paused

    await page.get_by_role("button", name="Reanudar").click()
    await expect(page.get_by_role("status").first).to_contain_text("Difusión reanudada")
    # The page follows the progress by itself (it polls its JSON figures) until done.
    await expect(page.locator("#estado")).to_contain_text("terminada", timeout=40_000)
    await expect(page.locator("#n-sent")).to_have_text("300")
    counts = delivered()
    assert set(counts.values()) == {1}, "everybody got the campaign exactly once"
    sent = [m for m in botapi.messages_to(CHATS[0]) if m.text == text]
    assert [b["url"] for b in sent[0].inline_buttons] == ["https://pachuca.gob.mx/pmd"]
    figures = await page.request.get(f"{campaign_url}/avance.json")
    assert (await figures.json())["sent"] == 300
    await admin.clean()
    async with database.reading() as session:
        audited = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert audited == ["broadcast.queue", "broadcast.pause", "broadcast.resume"]
    await admin.context.close()


async def test_the_staff_pages_pass_axe_on_a_phone(
    chromium: Browser, server: TestServer, consultation: Consultation
) -> None:
    from tests.axe import need_axe, violations

    need_axe()
    database = server.app[DATABASE]
    async with database.transaction() as session:
        await staff.add(session, user_id=ADMIN, role="admin", now=utcnow(), name="Sofía")
        await staff.add_web(session, email="lucia@pachuca.gob.mx", role="moderator", now=utcnow())
        author = await make_participant(session, consultation, external_id="880013")
        reported = await make_proposal(session, consultation, author, problem="Publicidad aquí.")
        await report_proposal(session, consultation, reported.id, times=3)
        await make_proposal(session, consultation, author, publish=False)
        await make_recipients(session, consultation, range(80_001, 80_011))
    context = await chromium.new_context(viewport=PHONE, is_mobile=True, bypass_csp=True)
    page = await context.new_page()
    await page.goto(await link_for(server, ADMIN))
    await page.wait_for_url(re.compile(r"/panel$"))
    base = str(server.make_url("/")).rstrip("/")
    found: dict[str, list[str]] = {}

    async def check(name: str) -> None:
        found[name] = await violations(page) + await too_wide(page)

    for path in (
        "/panel",
        f"/panel/propuestas/{reported.folio}",
        "/panel/moderar",
        "/panel/constancias",
        "/panel/equipo",
        "/panel/difusiones",
        "/panel/integridad",
    ):
        await page.goto(base + path)
        await check(path)
    await page.goto(f"{base}/panel/moderar?aviso=publicada&folio={reported.folio}")
    await check("moderation with a notice")
    await page.goto(f"{base}/panel/difusiones")
    await page.get_by_label("Mensaje").fill("Hola, la consulta sigue abierta.")
    await page.get_by_role("button", name="Ver vista previa").click()
    await check("campaign preview")
    await page.get_by_role("button", name="Enviar").click()
    await page.wait_for_url(re.compile(r"/panel/difusiones/\d+$"))
    await check("campaign progress")
    await page.get_by_role("button", name="Pausar").click()
    await check("campaign paused")
    await page.goto(f"{base}/panel/equipo")
    await (
        page.get_by_role("row")
        .filter(has_text="lucia@")
        .get_by_role("button", name="Enlace de entrada")
        .click()
    )
    await check("login link")
    await page.goto(f"{base}/panel/salir")
    await check("leave")
    await context.close()
    assert {name: v for name, v in found.items() if v} == {}
