"""A real Chromium for browser tests (Debian's package; Playwright drives it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Records Content-Security-Policy violations in the page (window.__csp).
CSP_PROBE = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def chromium_path() -> str | None:
    """The Chromium binary (Debian's real executable first, then whatever is on PATH)."""
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium; skipped where it is not installed, except in CI."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI")
        pytest.skip("Chromium not installed")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=ARGS)
        plain = launched.new_context

        async def new_context(**options: Any) -> BrowserContext:
            # A citizen's phone in Mexico: Spanish unless a test gives another locale.
            options.setdefault("locale", "es-MX")
            return await plain(**options)

        launched.new_context = new_context  # type: ignore[method-assign]
        yield launched
        await launched.close()
