"""axe-core in the page: the serious and critical accessibility violations it finds.

axe-core comes from npm, pinned in ``tests/tools/axe`` (``tests/tools/install.sh``
installs it); it is evaluated through the DevTools protocol, so the page's
Content-Security-Policy, which allows no inline script, stays as served.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.browsing import REQUIRE_BROWSER

if TYPE_CHECKING:
    from playwright.async_api import Page

AXE = Path(__file__).resolve().parents[1] / "tools/axe/node_modules/axe-core/axe.min.js"

_RUN = """
async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ` +
      v.nodes.map((n) => n.target.join(' ')).join(', '));
}
"""


def axe_source() -> str:
    if not AXE.is_file():
        reason = "axe-core is not installed: run tests/tools/install.sh (npm ci in tests/tools/axe)"
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason}, and OCE_TEST_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)
    return AXE.read_text("utf-8")


async def axe_violations(page: Page) -> list[str]:
    """One line per serious or critical violation on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    found: list[str] = await page.evaluate(_RUN)
    return found
