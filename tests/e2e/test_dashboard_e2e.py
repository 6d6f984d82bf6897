"""The dashboard in a real headless Chromium: sign in, watch the fleet, open a device.

The flows that act on the fleet (charts, settings, commands, alerts, firmware releases) are in
`test_dashboard_flows.py`.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from climasense.simulator.fleet import Plan
from tests.e2e.support import TIMEOUT_MS, chromium, page_of, screenshot, sign_in, simulated_fleet
from tests.support.factories import provision
from tests.support.server import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


async def test_sign_in_see_the_fleet_live_and_open_a_device(server: LiveServer, token: str) -> None:
    plan = Plan(devices=2, hubs=1, sensors_per_hub=2, batch="e2e-fleet")
    async with (
        # A day of history, so the hub's charts (in its screenshot) have lines.
        simulated_fleet(server, token, plan, backfill_hours=24) as fleet,
        chromium() as browser,
        page_of(browser, server) as page,
    ):
        await page.goto("/")
        await expect(page.locator("h1")).to_have_text("Sign in")
        await screenshot(page, "sign-in")

        await page.fill('input[name="token"]', "csa_not-a-token")
        await page.click('button:has-text("Sign in")')
        await expect(page.locator(".flash-error")).to_contain_text("not a valid admin token")

        await sign_in(page, token)
        await page.goto("/?batch=e2e-fleet")
        standalone = fleet.entry("standalone")
        row = page.locator(f'tbody[data-table="fleet"] tr[data-id="{standalone["device_id"]}"]')
        await expect(row).to_contain_text(standalone["serial_number"])
        await expect(row).to_contain_text("CS-100")
        await expect(page.locator('tbody[data-table="fleet"] tr')).to_have_count(5)
        total = int(await page.locator('[data-field="count-total"]').inner_text())
        assert total >= 5

        # Live: a device provisioned now shows up without a reload.
        [late] = await provision(server.client, token, batch="e2e-fleet")
        await expect(page.locator(f'tr[data-id="{late["device_id"]}"]')).to_contain_text(
            late["serial_number"], timeout=TIMEOUT_MS
        )
        await screenshot(page, "fleet")

        await row.locator("a").click()
        await page.wait_for_url(f"**/devices/{standalone['device_id']}")
        await expect(page.locator("h1")).to_contain_text(standalone["serial_number"])
        await expect(page.locator("#settings-version")).to_have_text("1")
        form = page.locator("#settings-form")
        await expect(form.locator('input[name="reporting_interval_seconds"]')).to_have_value("300")
        await expect(form.locator('input[name="version"]')).to_have_value("1")
        await expect(form.locator('input[value="iaq"]')).to_be_checked()
        # Factory reset asks for the serial number; other commands do not.
        await expect(page.locator("#confirm-serial")).to_be_hidden()
        await page.select_option("#command-type", "factory_reset")
        await expect(page.locator("#confirm-serial")).to_be_visible()
        await page.select_option("#command-type", "diagnostics")
        await screenshot(page, "device")

        hub = fleet.entry("hub")
        await page.goto(f"/devices/{hub['device_id']}")
        await expect(page.locator("h2", has_text="Zigbee sensors")).to_be_visible()
        await screenshot(page, "hub")

        await page.goto("/alerts")
        await expect(page.locator("h1")).to_have_text("Alerts")
        await expect(page.locator("#rule-form")).to_be_visible()
        await screenshot(page, "alerts")

        await page.goto("/firmware")
        await expect(page.locator("#upload-form")).to_be_visible()
        await expect(page.locator("#release-form")).to_be_visible()
        await screenshot(page, "firmware")

        await page.click('button:has-text("Sign out")')
        await expect(page.locator("h1")).to_have_text("Sign in")
        await page.goto("/")
        assert "/sign-in" in page.url
