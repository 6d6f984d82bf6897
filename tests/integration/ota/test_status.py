"""POST /v1/ota/status, and devices stuck mid-update counting as failed."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from climasense.ota.jobs import PERIODIC_JOBS
from climasense.worker.runner import run_periodic_once
from tests.integration.ota.conftest import Ota, ota_settings
from tests.integration.ota.helpers import device_keys, new_model, publish, report
from tests.support.errors import assert_error
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import live_server


async def test_status_is_recorded_and_completed_sets_the_firmware_version(ota: Ota) -> None:
    client, token, model = ota.client, ota.token, new_model()
    [device] = await provision(client, token, model=model, batch="a")
    await publish(client, token, model, "1.1.0", ["a"])
    response = await report(client, device["api_key"], "1.1.0", "downloading", progress_percent=5)
    assert response.status_code == 200
    body = response.json()
    assert body["recorded"] is True
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    detail = await client.get(f"/admin/v1/devices/{device['device_id']}", headers=bearer(token))
    assert detail.json()["firmware_version"] is None
    await report(client, device["api_key"], "1.1.0", "completed")
    detail = await client.get(f"/admin/v1/devices/{device['device_id']}", headers=bearer(token))
    assert detail.json()["firmware_version"] == "1.1.0"
    async with ota.server.services.pool.acquire() as conn:
        history = await conn.fetch(
            "SELECT status, progress_percent FROM ota_status_reports WHERE device_id = $1"
            " ORDER BY report_id",
            device["device_id"],
        )
    assert [tuple(r) for r in history] == [("downloading", 5), ("completed", None)]


async def test_invalid_reports(ota: Ota) -> None:
    client, token = ota.client, ota.token
    [key] = await device_keys(client, token, new_model(), "a")
    cases = [
        ({"version": "1.0.0", "status": "exploded"}, "status"),
        ({"version": "1.0", "status": "failed"}, "version"),
        ({"status": "failed"}, "version"),
        (
            {"version": "1.0.0", "status": "downloading", "progress_percent": 101},
            "progress_percent",
        ),
        (
            {"version": "1.0.0", "status": "downloading", "progress_percent": 5.5},
            "progress_percent",
        ),
        ({"version": "1.0.0", "status": "failed", "error_message": 7}, "error_message"),
        ({"version": "1.0.0", "status": "failed", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await client.post("/v1/ota/status", json=body, headers=bearer(key))
        assert_error(response, 422, "validation_error")
        assert field in [d["field"] for d in response.json()["details"]], body
    response = await client.post(
        "/v1/ota/status", content=b"{", headers={**bearer(key), "Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_json")
    response = await client.post(
        "/v1/ota/status", content=b"x", headers={**bearer(key), "Content-Type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")


async def test_stuck_devices_count_as_failed(fresh_database_url: str, tmp_path: Path) -> None:
    # A private database: the job evaluates every release, with a 1-second stuck limit.
    settings = ota_settings(fresh_database_url, tmp_path, ota_stuck_seconds=1, run_worker=False)
    async with live_server(settings) as server:
        client, token, model = server.client, await admin_token(server.services), new_model()
        keys = await device_keys(client, token, model, "a", count=6)
        created = await publish(client, token, model, "1.0.0", ["a"])
        for key in keys[:4]:
            await report(client, key, "1.0.0", "completed")
        await report(client, keys[4], "1.0.0", "downloading")
        await report(client, keys[5], "1.0.0", "applying")
        await asyncio.sleep(1.2)
        # A progress report does not restart the clock: the attempt began over a second ago.
        await report(client, keys[4], "1.0.0", "verifying")
        url = f"/admin/v1/releases/{created['release_id']}"
        body = (await client.get(url, headers=bearer(token))).json()
        assert (body["stuck"], body["finished"], body["failed_including_stuck"]) == (2, 6, 2)
        assert body["state"] == "active"  # nothing evaluated it yet
        [job] = PERIODIC_JOBS
        assert await run_periodic_once(server.services, job)
        body = (await client.get(url, headers=bearer(token))).json()
        assert (body["state"], body["auto_paused"]) == ("paused", True)
        assert "2 of them stuck" in body["pause_reason"]
