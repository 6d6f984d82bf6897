"""Shared pieces of the browser tests: Debian's Chromium driven by Playwright, a signed-in
page, a simulated fleet running in the background, and screenshots for the docs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from climasense.simulator.client import Stats
from climasense.simulator.device import Timing, VirtualDevice
from climasense.simulator.fleet import Plan, build_devices, provision, run_fleet
from tests.support.server import LiveServer

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Generous: two cores are shared with other suites.
TIMEOUT_MS = 20_000


def chromium_path() -> str:
    path = os.environ.get("CLIMASENSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError(
            "Debian's chromium is needed for the browser tests: apt-get install chromium "
            "(scripts/test installs it), or set CLIMASENSE_CHROMIUM"
        )
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def page_of(browser: Browser, server: LiveServer) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def sign_in(page: Page, token: str) -> None:
    await page.goto("/")
    assert "/sign-in" in page.url
    await page.fill('input[name="token"]', token)
    await page.click('button:has-text("Sign in")')
    await page.wait_for_url(lambda url: "/sign-in" not in url)


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@dataclass
class SimulatedFleet:
    entries: list[dict[str, Any]]
    devices: list[VirtualDevice]
    stats: Stats

    def entry(self, kind: str) -> dict[str, Any]:
        return next(e for e in self.entries if e["kind"] == kind)


@asynccontextmanager
async def simulated_fleet(
    server: LiveServer,
    token: str,
    plan: Plan,
    *,
    seconds: float = 90,
    timing: Timing | None = None,
    backfill_hours: float = 0,
) -> AsyncIterator[SimulatedFleet]:
    """Provision `plan` and run it in the background for at most `seconds`."""
    entries = await provision(server.client, token, plan)
    stats = Stats()
    deadline = time.monotonic() + seconds
    devices = build_devices(
        entries,
        server.client,
        stats,
        timing or Timing(interval=2, command_poll=2, ota_check=6),
        deadline=deadline,
        sensors_per_hub=plan.sensors_per_hub,
    )
    task = asyncio.create_task(run_fleet(devices, deadline, backfill_hours=backfill_hours))
    try:
        yield SimulatedFleet(entries, devices, stats)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
