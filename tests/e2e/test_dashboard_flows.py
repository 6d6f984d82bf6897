"""Browser flows that act on a simulated fleet: open a device's charts, change a setting (the
device applies it), send a command (the simulator acks it), create a rule and acknowledge the
alert it opens, upload and release firmware and watch the progress bar, and a failing release
that pauses itself. Written against the operator API's shapes (CONTRACT §5/§6); the page
structure (ids, data-* attributes) is the dashboard's own.
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from playwright.async_api import Page, expect

from climasense.simulator.device import Timing
from climasense.simulator.fleet import Plan
from climasense.web.tables import FLEET_COLUMNS
from tests.e2e.support import (
    TIMEOUT_MS,
    chromium,
    page_of,
    screenshot,
    sign_in,
    simulated_fleet,
)
from tests.support.server import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


async def reload_until(page: Page, selector: str, seconds: float = 30) -> None:
    """Reload until `selector` is on the page (for data the worker produces asynchronously)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await page.locator(selector).count():
            return
        await page.wait_for_timeout(1000)
        await page.reload()
    raise AssertionError(f"{selector} did not appear within {seconds} s")


async def test_open_a_devices_charts(server: LiveServer, token: str) -> None:
    plan = Plan(devices=1, batch="e2e-charts")
    async with (
        simulated_fleet(server, token, plan, backfill_hours=24) as fleet,
        chromium() as browser,
        page_of(browser, server) as page,
    ):
        device = fleet.entry("standalone")
        await sign_in(page, token)
        await page.goto(f"/devices/{device['device_id']}")
        chart = 'svg.chart[data-sensor-type="temperature"]:not([data-points="0"])'
        await reload_until(page, chart)
        for sensor_type in ("humidity", "pressure", "battery_level", "signal_strength"):
            await expect(
                page.locator(f'svg.chart[data-sensor-type="{sensor_type}"]')
            ).to_be_visible()
        await expect(page.locator(f"{chart} polyline.line")).to_have_count(1, timeout=TIMEOUT_MS)
        # Latest readings are live too.
        await expect(
            page.locator('tbody[data-table="readings"] tr[data-id="temperature"]')
        ).to_contain_text("°C")
        await screenshot(page, "device")
        await page.click('nav.tabs a:has-text("7d")')
        await page.wait_for_url(re.compile(r"range=7d"))
        await expect(page.locator(chart)).to_be_visible()


async def test_change_a_setting_and_the_device_applies_it(server: LiveServer, token: str) -> None:
    plan = Plan(devices=1, batch="e2e-settings")
    async with (
        simulated_fleet(server, token, plan) as fleet,
        chromium() as browser,
        page_of(browser, server) as page,
        page_of(browser, server) as stale,
    ):
        device = fleet.entry("standalone")
        await sign_in(page, token)
        await sign_in(stale, token)
        path = f"/devices/{device['device_id']}"
        await page.goto(path)
        await stale.goto(path)  # opened before the change: holds version 1
        form = page.locator("#settings-form")
        await form.locator('input[name="reporting_interval_seconds"]').fill("120")
        await form.locator('input[value="iaq"]').uncheck()
        await form.locator('input[name="timezone"]').fill("Europe/Oslo")
        await form.locator('button[type="submit"]').click()
        await expect(page.locator(".flash-ok")).to_contain_text("version 2")
        await expect(page.locator("#settings-version")).to_have_text("2")
        await expect(form.locator('input[name="reporting_interval_seconds"]')).to_have_value("120")
        await expect(form.locator('input[value="iaq"]')).not_to_be_checked()
        # The change travels as a config_update command, which the simulated device acks.
        row = page.locator('tbody[data-table="commands"] tr', has_text="config_update")
        await expect(row).to_contain_text("acked", timeout=TIMEOUT_MS)
        assert "iaq" not in fleet.devices[0].enabled_sensors

        stale_form = stale.locator("#settings-form")
        await stale_form.locator('input[name="reporting_interval_seconds"]').fill("600")
        await stale_form.locator('button[type="submit"]').click()
        await expect(stale.locator(".flash-error")).to_contain_text("changed by someone else")
        await expect(stale.locator("#settings-version")).to_have_text("2")

        await form.locator('input[name="timezone"]').fill("Not/AZone")
        await form.locator('button[type="submit"]').click()
        await expect(page.locator(".flash-error")).to_contain_text("timezone")


async def test_send_a_command_and_see_it_acked_by_the_simulator(
    server: LiveServer, token: str
) -> None:
    plan = Plan(devices=1, batch="e2e-commands")
    async with (
        simulated_fleet(server, token, plan) as fleet,
        chromium() as browser,
        page_of(browser, server) as page,
    ):
        device = fleet.entry("standalone")
        await sign_in(page, token)
        await page.goto(f"/devices/{device['device_id']}")
        await page.select_option("#command-type", "diagnostics")
        await page.click('#command-form button[type="submit"]')
        await expect(page.locator(".flash-ok")).to_contain_text("diagnostics command sent")
        row = page.locator('tbody[data-table="commands"] tr', has_text="diagnostics").first
        # Acked by the simulated device, seen without a reload (live polling).
        await expect(row).to_contain_text("acked", timeout=TIMEOUT_MS)
        await expect(row.locator("pre")).to_contain_text("uptime_seconds")
        await expect(row.locator("pre")).to_contain_text("battery_level")
        await screenshot(page, "device-commands")

        # Factory reset asks for the serial number: a wrong one is refused by the API.
        await page.select_option("#command-type", "factory_reset")
        await page.fill('input[name="confirm"]', "CS-ST-WRONG")
        await page.click('#command-form button[type="submit"]')
        await expect(page.locator(".flash-error")).to_be_visible()
        await expect(
            page.locator('tbody[data-table="commands"] tr', has_text="factory_reset")
        ).to_have_count(0)
        await page.select_option("#command-type", "factory_reset")
        await page.fill('input[name="confirm"]', device["serial_number"])
        await page.click('#command-form button[type="submit"]')
        await expect(page.locator(".flash-ok")).to_contain_text("factory_reset command sent")
        reset = page.locator('tbody[data-table="commands"] tr', has_text="factory_reset")
        await expect(reset).to_contain_text("acked", timeout=TIMEOUT_MS)


async def test_create_a_rule_and_acknowledge_the_alert_it_opens(
    server: LiveServer, token: str
) -> None:
    plan = Plan(devices=1, batch="e2e-alerts")
    async with (
        simulated_fleet(server, token, plan) as fleet,
        chromium() as browser,
        page_of(browser, server) as page,
    ):
        device = fleet.entry("standalone")
        await sign_in(page, token)
        await page.goto("/alerts")
        form = page.locator("#rule-form")
        await form.locator('input[name="name"]').fill("e2e: any temperature")
        await form.locator('select[name="sensor_type"]').select_option("temperature")
        await form.locator('select[name="op"]').select_option(">")
        await form.locator('input[name="threshold"]').fill("-60")
        await form.locator('select[name="severity"]').select_option("critical")
        await form.locator('select[name="scope"]').select_option("device")
        await form.locator('input[name="device_id"]').fill(device["device_id"])
        await form.locator('button[type="submit"]').click()
        await expect(page.locator(".flash-ok")).to_contain_text("created")
        rule_row = page.locator('tbody[data-table="rules"] tr', has_text="e2e: any temperature")
        await expect(rule_row).to_contain_text(f"device {device['serial_number']}")

        await page.goto("/alerts?state=open")
        row = f'tbody[data-table="alerts"] tr:has-text("{device["serial_number"]}")'
        await reload_until(page, row)
        await screenshot(page, "alerts")
        # The fleet table counts the device's open alert.
        await page.goto("/?batch=e2e-alerts")
        fleet_row = page.locator(f'tbody[data-table="fleet"] tr[data-id="{device["device_id"]}"]')
        alerts_column = FLEET_COLUMNS.index("Open alerts")
        await expect(fleet_row.locator("td").nth(alerts_column)).to_have_text("1")
        await page.goto("/alerts?state=open")
        await page.locator(row).locator('button:has-text("Acknowledge")').click()
        await expect(page.locator(".flash-ok")).to_contain_text("Alert acknowledged")
        await page.goto("/alerts?state=acknowledged")
        await expect(page.locator(row)).to_contain_text("acknowledged")


async def _upload_and_release(
    page: Page, model: str, version: str, batch: str, **extra: str
) -> None:
    image = hashlib.sha256(version.encode()).digest() * 4096  # 128 KiB
    await page.goto("/firmware")
    upload = page.locator("#upload-form")
    await upload.locator('input[name="model"]').fill(model)
    await upload.locator('input[name="version"]').fill(version)
    await upload.locator('textarea[name="release_notes"]').fill("e2e build")
    await upload.locator('input[name="image"]').set_input_files(
        {"name": "firmware.bin", "mimeType": "application/octet-stream", "buffer": image}
    )
    await upload.locator('button[type="submit"]').click()
    await expect(page.locator(".flash-ok")).to_contain_text(f"Uploaded {model} {version}")
    release = page.locator("#release-form")
    await release.locator('input[name="model"]').fill(model)
    await release.locator('input[name="version"]').fill(version)
    await release.locator('input[name="batches"]').fill(batch)
    if "threshold" in extra:
        await release.locator('input[name="failure_threshold_percent"]').fill(extra["threshold"])
    await release.locator('button[type="submit"]').click()
    await page.wait_for_url(re.compile(r"/firmware\?release="))
    await expect(page.locator(".flash-ok")).to_contain_text(f"Released {model} {version}")


async def test_release_firmware_and_watch_the_progress_bar_move(
    server: LiveServer, token: str
) -> None:
    plan = Plan(devices=3, batch="e2e-ota", model="CS-E2E-OTA")
    timing = Timing(interval=2, command_poll=5, ota_check=6)
    async with (
        simulated_fleet(server, token, plan, timing=timing) as fleet,
        chromium() as browser,
        page_of(browser, server) as page,
    ):
        await sign_in(page, token)
        await _upload_and_release(page, "CS-E2E-OTA", "1.1.0", "e2e-ota")
        release = page.locator("li.release").first
        await expect(release).to_contain_text("CS-E2E-OTA 1.1.0")
        await expect(release.locator(".badge")).to_have_text("active")
        # Live: devices pick the update up, and the completed segment grows without a reload.
        completed = release.locator("rect.seg-completed")
        await expect(completed).to_have_count(1, timeout=30_000)
        await expect(release.locator('[data-field$="-summary"]')).to_contain_text(
            "3 of 3 completed", timeout=30_000
        )
        assert float(await completed.get_attribute("width") or 0) == pytest.approx(100.0)
        assert all(d.firmware_version == "1.1.0" for d in fleet.devices)

        await release.locator('button:has-text("Pause")').click()
        await expect(page.locator(".flash-ok")).to_contain_text("Release paused")
        await expect(page.locator("li.release").first.locator(".badge")).to_have_text("paused")
        await page.locator("li.release").first.locator('button:has-text("Resume")').click()
        await expect(page.locator("li.release").first.locator(".badge")).to_have_text("active")


async def test_a_failing_release_pauses_itself_and_says_why(server: LiveServer, token: str) -> None:
    plan = Plan(devices=6, batch="e2e-ota-bad", model="CS-E2E-BAD")
    timing = Timing(interval=5, command_poll=10, ota_check=6, ota_failure_rate=1.0)
    async with (
        simulated_fleet(server, token, plan, timing=timing),
        chromium() as browser,
        page_of(browser, server) as page,
    ):
        await sign_in(page, token)
        await _upload_and_release(page, "CS-E2E-BAD", "2.0.0", "e2e-ota-bad")
        release = page.locator("li.release").first
        await expect(release.locator(".badge")).to_have_text("paused", timeout=45_000)
        await expect(release.locator(".reason")).not_to_be_empty()
        # It paused while the page was open: the live state swaps Pause for Resume too.
        await expect(release.locator('button:has-text("Resume")')).to_be_visible()
        await expect(release.locator('button:has-text("Pause")')).to_be_hidden()
        await expect(release.locator("rect.seg-failed")).to_have_count(1)
        # For the docs: a paused release with its reason (and, in a full run, a completed one).
        await screenshot(page, "firmware")
