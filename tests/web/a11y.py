"""axe-core in a real Chromium: the WCAG 2.x A/AA rules on a page as it is shown.

The site's CSP refuses injected scripts, so axe runs in a context opened with
``bypass_csp=True`` (the CSP itself is checked by the other browser tests). axe-core
comes from npm (``tests/axe``, installed by ``scripts/system-deps.sh``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

AXE = Path(__file__).parent.parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_path() -> Path:
    """axe.min.js; the test is skipped where it is not installed, except in CI."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is required in CI (bash scripts/system-deps.sh)")
        pytest.skip("axe-core not installed (bash scripts/system-deps.sh)")
    return AXE


async def violations(page: Page) -> list[dict[str, Any]]:
    """The axe violations of the page now (id, impact, the first offending nodes)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(axe_path()))
    found: list[dict[str, Any]] = await page.evaluate(
        "rules => axe.run(document, {runOnly: rules}).then(r => r.violations.map(v => ("
        "{id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))",
        RULES,
    )
    return found
