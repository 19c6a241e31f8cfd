"""The verification page in a real Chromium on a phone-sized screen."""

from __future__ import annotations

import shutil
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, ConsoleMessage, async_playwright

from pmd_domain.consultation import Consultation
from pmd_domain.settings import Settings
from tests.web.test_certificate_page import NOT_VALID, issue_one
from web.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_executable() -> str:
    """The system Chromium (no downloaded browsers on this machine)."""
    for candidate in (
        "/usr/lib/chromium/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("Chromium is not installed")


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG header."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_verification_page_on_a_phone(
    chromium: Browser,
    settings: Settings,
    consultation: Consultation,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    issued = await issue_one(sqlite_url, consultation)
    app = create_app(settings, consultation=consultation)
    async with TestServer(app) as server:
        context = await chromium.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
        )
        page = await context.new_page()
        invalid_url = str(server.make_url(f"/constancias/{issued.token[:-1]}"))
        problems: list[str] = []

        def on_console(message: ConsoleMessage) -> None:
            url = str(message.location.get("url", ""))
            # The 404 page's own status is expected; anything else (CSP violations
            # included) is a problem.
            expected = url == invalid_url and "404" in message.text
            if message.type in ("error", "warning") and not expected:
                problems.append(f"{message.text} {url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(str(error)))
        response = await page.goto(str(server.make_url(f"/constancias/{issued.token}")))
        assert response is not None and response.status == 200

        heading = page.get_by_role("heading", level=1)
        assert "Constancia válida" in await heading.inner_text()
        assert await page.get_by_text(issued.name).is_visible()
        assert await page.get_by_text(issued.folio).is_visible()
        assert await page.get_by_text(issued.topic_name, exact=False).is_visible()
        # Fits the phone: nothing wider than the screen.
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        # The page's own stylesheet was applied (CSP allows 'self' styles).
        color = await heading.evaluate("h => getComputedStyle(h).color")
        assert color == "rgb(30, 107, 52)"

        shot = tmp_path / "constancia-valida.png"
        await page.screenshot(path=str(shot), full_page=True)
        data = shot.read_bytes()
        width, height = png_size(data)
        assert (width, height) >= (390 * 2, 844)
        assert len(data) > 20_000

        missing = await page.goto(invalid_url)
        assert missing is not None and missing.status == 404
        assert NOT_VALID in await page.get_by_role("heading", level=1).inner_text()
        await page.screenshot(path=str(tmp_path / "constancia-no-valida.png"), full_page=True)
        await context.close()
    assert problems == []
