"""Screenshots of the dashboard's main views for docs/screenshots/ (docs/DASHBOARD.md).

Starts the world of tests/e2e/test_dashboard.py (the real bot process against the Bot
API stand-in, the sample tree, a campaign and 90 seeded ideas), opens the page in
Debian's headless Chromium as Telegram opens a Mini App (light theme) and saves the
tree, the ideas, an idea's card and the queue at 360 px and at 1280 px wide.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.async_api import Page  # noqa: E402

from tests.e2e.test_dashboard import (  # noqa: E402
    OFFICIAL,
    SUPPORT,
    Site,
    init_data,
    mini_app,
    running_site,
    viewing,
)

SIZES = ((360, 740), (1280, 820))


async def save(page: Page, path: Path) -> None:
    await page.wait_for_timeout(150)  # the last layout settled
    png = await page.screenshot(path=str(path))
    print(f"{path}: {len(png) // 1024} KB")


async def shoot(site: Site, out: Path, width: int, height: int) -> None:
    context = await site.browser.new_context(
        viewport={"width": width, "height": height}, locale="vi-VN", color_scheme="light"
    )
    try:
        page = await context.new_page()
        await page.goto(mini_app(site, init_data(OFFICIAL)))
        await viewing(page, site.world.names["HCM"])
        await save(page, out / f"tree-{width}.png")
        await page.locator("#tab-ideas").click()
        await page.wait_for_selector("#idea-list .idea")
        await save(page, out / f"ideas-{width}.png")

        queue = await context.new_page()
        await page.close()
        await queue.goto(mini_app(site, init_data(SUPPORT)))
        await queue.wait_for_selector("#queue-list .idea")
        await save(queue, out / f"queue-{width}.png")
        await queue.locator("#queue-list .idea").first.click()
        await queue.wait_for_selector("#card[open] #decide .act")
        await save(queue, out / f"card-{width}.png")
    finally:
        await context.close()


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_site(Path(tmp)) as site:
            for width, height in SIZES:
                await shoot(site, out, width, height)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    out = parser.parse_args().out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out))
