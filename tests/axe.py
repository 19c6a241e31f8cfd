"""axe-core in the browser tests: WCAG 2.2 A and AA rules, zero violations wanted.

The site's CSP refuses an injected script, so the context under test is opened with
``bypass_csp=True`` (``AXE_CONTEXT``); the pages' own CSP is checked by other tests.
``scripts/system-deps.sh`` installs axe-core from npm into ``tests/axe/node_modules``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_CONTEXT: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "bypass_csp": True,
}


def need_axe() -> None:
    """Skip where axe-core is not installed (fail in CI)."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is required in CI (scripts/system-deps.sh)")
        pytest.skip("axe-core not installed (bash scripts/system-deps.sh)")


async def violations(page: Page) -> list[str]:
    """axe's WCAG 2.2 AA violations on the page as it is now: ``rule (impact): targets``."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "rules => axe.run(document, {runOnly: {type: 'tag', values: rules}})", RULES
    )
    return [
        f"{v['id']} ({v['impact']}): "
        + json.dumps([node["target"] for node in v["nodes"]][:5], ensure_ascii=False)
        for v in result["violations"]
    ]


# The elements that stick out of a phone's screen, scrolling tables (``.scroll``) excepted.
_WIDER_THAN_THE_SCREEN = (
    "[...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll')"
    " && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
    ".map(e => e.tagName + '.' + e.className).slice(0, 5)"
)


async def too_wide(page: Page) -> list[str]:
    """What makes the page wider than its screen (WCAG 1.4.10, reflow): none wanted."""
    wide: list[str] = await page.evaluate(_WIDER_THAN_THE_SCREEN)
    return [f"wider than the screen: {wide}"] if wide else []
