"""The simulator against a live server: provisioning through the operator API, telemetry
(every reading accepted), settings, commands (acked with results), hub sensor registration and
reports, the OTA walk (and a resumed download), rate limits."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest

from climasense.settings import RateLimit
from climasense.simulator.client import ClientShards, DeviceClient, Stats
from climasense.simulator.device import Timing
from climasense.simulator.fleet import (
    Plan,
    build_devices,
    provision,
    read_keys,
    run_fleet,
    save_keys,
)
from tests.conftest import make_settings
from tests.support.factories import admin_token, bearer
from tests.support.server import LiveServer, live_server


@asynccontextmanager
async def fleet_http(server: LiveServer, sharded: bool) -> AsyncIterator[Any]:
    """The test server's httpx client, or aiohttp sessions as `climasense simulate` uses them
    (two devices a session, so a fleet spans several)."""
    if not sharded:
        yield server.client
        return
    shards = ClientShards(server.url, devices_per_client=2, connections_per_client=2)
    try:
        yield shards
    finally:
        await shards.aclose()


@pytest.mark.parametrize("sharded", [False, True], ids=["httpx", "shards"])
async def test_a_short_run_provisions_and_drives_the_fleet(
    server: LiveServer, token: str, sharded: bool
) -> None:
    batch = f"sim-live-{secrets.token_hex(3)}"  # one per parametrized run (shared server)
    plan = Plan(devices=2, hubs=1, sensors_per_hub=2, batch=batch)
    entries = await provision(server.client, token, plan)
    assert sorted(e["kind"] for e in entries) == [
        "hub",
        "standalone",
        "standalone",
        "zigbee_sensor",
        "zigbee_sensor",
    ]
    listed = await server.client.get(
        "/admin/v1/devices", params={"batch": batch}, headers=bearer(token)
    )
    assert {d["device_id"] for d in listed.json()["devices"]} == {e["device_id"] for e in entries}

    stats = Stats()
    deadline = time.monotonic() + 2.5
    timing = Timing(interval=1, command_poll=2, ota_check=6)
    async with fleet_http(server, sharded) as http:
        fleet = build_devices(entries, http, stats, timing, deadline=deadline, sensors_per_hub=2)
        assert [len(d.sensors) for d in fleet if d.identity.kind == "hub"] == [2]
        await asyncio.wait_for(run_fleet(fleet, deadline), timeout=20)

    # Settings exist on every server: each device read its document.
    assert all(d.settings_version == 1 for d in fleet)
    standalone = next(d for d in fleet if d.identity.kind == "standalone")
    assert "iaq" in standalone.enabled_sensors
    assert stats.errors == 0
    # Every reading the simulator makes up is one the server accepts.
    assert stats.telemetry_posts >= len(fleet)
    assert stats.readings_accepted > 0
    assert stats.readings_rejected == 0

    # The hub registered both its sensors, and the server lists them under it.
    hub = next(d for d in fleet if d.identity.kind == "hub")
    assert stats.sensors_registered == 2
    assert all(s.sensor_id for s in hub.sensors)
    detail = await server.client.get(
        f"/admin/v1/devices/{hub.identity.device_id}", headers=bearer(token)
    )
    listed_sensors = {s["sensor_id"]: s["ieee_address"] for s in detail.json()["sensors"]}
    assert listed_sensors == {s.sensor_id: s.ieee_address for s in hub.sensors}
    # ... and reported for them: each sensor has its own latest readings and last_seen_at,
    # the hub its own.
    for sensor in hub.sensors:
        seen = await server.client.get(
            f"/admin/v1/devices/{sensor.sensor_id}", headers=bearer(token)
        )
        latest = {r["sensor_type"] for r in seen.json()["latest_readings"]}
        assert latest == {"temperature", "humidity", "battery_level"}
        assert seen.json()["last_seen_at"] is not None
    hub_latest = {r["sensor_type"] for r in detail.json()["latest_readings"]}
    assert hub_latest == set(hub.enabled_sensors)
    assert detail.json()["online"] is True


async def _history(server: LiveServer, token: str, device_id: str) -> dict[str, dict[str, Any]]:
    response = await server.client.get(
        f"/admin/v1/devices/{device_id}/commands", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return {c["type"]: c for c in response.json()["commands"]}


async def test_commands_and_settings_changes_are_acked_with_results(
    server: LiveServer, token: str
) -> None:
    [entry] = await provision(server.client, token, Plan(devices=1, batch="sim-commands"))
    device_id = entry["device_id"]
    for command in ({"type": "diagnostics"}, {"type": "reboot"}):
        sent = await server.client.post(
            f"/admin/v1/devices/{device_id}/commands", json=command, headers=bearer(token)
        )
        assert sent.status_code == 201, sent.text
    # An operator's settings change travels as a config_update carrying the new document.
    patched = await server.client.patch(
        f"/admin/v1/devices/{device_id}/settings",
        json={"enabled_sensors": ["temperature", "humidity"], "reporting_interval_seconds": 120},
        headers=bearer(token),
    )
    assert patched.status_code == 200, patched.text

    stats = Stats()
    deadline = time.monotonic() + 3
    [device] = build_devices(
        [entry], server.client, stats, Timing(interval=60, command_poll=1, ota_check=60),
        deadline=deadline,
    )  # fmt: skip
    await asyncio.wait_for(run_fleet([device], deadline), timeout=20)

    history = await _history(server, token, device_id)
    assert {t: c["status"] for t, c in history.items()} == {
        "diagnostics": "acked",
        "reboot": "acked",
        "config_update": "acked",
    }
    diagnostics = history["diagnostics"]["result"]
    assert diagnostics["firmware_version"] == "1.0.0"
    assert diagnostics["settings_version"] == 2
    assert {"uptime_seconds", "battery_level", "signal_strength"} <= diagnostics.keys()
    assert history["config_update"]["result"] == {"applied_version": 2}
    assert device.enabled_sensors == ["temperature", "humidity"]
    assert stats.commands_acked == 3
    detail = await server.client.get(f"/admin/v1/devices/{device_id}", headers=bearer(token))
    assert detail.json()["applied_settings_version"] == 2


async def _ota_reports(server: LiveServer, device_id: str) -> list[tuple[str, str | None]]:
    rows = await server.services.pool.fetch(
        """SELECT status, error_message FROM ota_status_reports
           WHERE device_id = $1 ORDER BY report_id""",
        UUID(device_id),
    )
    return [(r["status"], r["error_message"]) for r in rows]


async def _publish(server: LiveServer, token: str, model: str, version: str, batch: str) -> str:
    image = secrets.token_bytes(150_000)
    uploaded = await server.client.put(
        f"/admin/v1/firmware/{model}/{version}",
        content=image,
        headers={**bearer(token), "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    released = await server.client.post(
        f"/admin/v1/firmware/{model}/{version}/releases",
        json={"batches": [batch]},
        headers=bearer(token),
    )
    assert released.status_code == 201, released.text
    release_id: str = released.json()["release_id"]
    return release_id


@pytest.mark.parametrize("sharded", [False, True], ids=["httpx", "shards"])
async def test_an_update_is_downloaded_verified_and_applied(
    server: LiveServer, token: str, sharded: bool
) -> None:
    model = f"SIM-{secrets.token_hex(4)}"
    batch = f"sim-ota-{secrets.token_hex(3)}"
    plan = Plan(devices=2, model=model, batch=batch)
    entries = await provision(server.client, token, plan)
    release_id = await _publish(server, token, model, "1.4.0", batch)

    stats = Stats()
    deadline = time.monotonic() + 3
    timing = Timing(interval=60, command_poll=60, ota_check=1)
    async with fleet_http(server, sharded) as http:
        fleet = build_devices(entries, http, stats, timing, deadline=deadline)
        await asyncio.wait_for(run_fleet(fleet, deadline), timeout=20)

    assert [d.firmware_version for d in fleet] == ["1.4.0", "1.4.0"]
    assert stats.ota_completed == 2
    for entry in entries:
        walked = [status for status, _ in await _ota_reports(server, entry["device_id"])]
        assert walked == ["downloading", "downloaded", "verifying", "applying", "completed"]
        detail = await server.client.get(
            f"/admin/v1/devices/{entry['device_id']}", headers=bearer(token)
        )
        assert detail.json()["firmware_version"] == "1.4.0"
    release = await server.client.get(f"/admin/v1/releases/{release_id}", headers=bearer(token))
    assert release.json()["status_counts"]["completed"] == 2


async def test_a_failed_update_is_reported_once_and_not_retried(
    server: LiveServer, token: str
) -> None:
    model = f"SIM-{secrets.token_hex(4)}"
    [entry] = await provision(server.client, token, Plan(devices=1, model=model, batch="sim-bad"))
    await _publish(server, token, model, "2.0.0", "sim-bad")

    stats = Stats()
    deadline = time.monotonic() + 3
    timing = Timing(interval=60, command_poll=60, ota_check=0.5, ota_failure_rate=1.0)
    [device] = build_devices([entry], server.client, stats, timing, deadline=deadline)
    await asyncio.wait_for(run_fleet([device], deadline), timeout=20)

    assert device.firmware_version == "1.0.0"
    reports = await _ota_reports(server, entry["device_id"])
    assert [status for status, _ in reports] == [
        "downloading", "downloaded", "verifying", "applying", "failed"
    ]  # fmt: skip
    assert reports[-1][1] == "image rejected by bootloader"
    assert stats.ota_failed == 1


@pytest.mark.parametrize("sharded", [False, True], ids=["httpx", "shards"])
async def test_rate_limited_settings_reads_wait_for_retry_after(
    fresh_database_url: str, tmp_path: Path, sharded: bool
) -> None:
    limits = dict(make_settings(fresh_database_url, tmp_path).rate_limits)
    limits["settings_get"] = RateLimit(1, 2)
    settings = make_settings(fresh_database_url, tmp_path, rate_limits=limits)
    async with live_server(settings) as live, fleet_http(live, sharded) as http:
        token = await admin_token(live.services)
        [entry] = await provision(live.client, token, Plan(devices=1, batch="sim-429"))
        stats = Stats()
        session = http.for_device(0) if sharded else http
        client = DeviceClient(session, entry["api_key"], stats, deadline=time.monotonic() + 30)
        first = await client.request("GET", "/v1/settings")
        started = time.monotonic()
        second = await client.request("GET", "/v1/settings")
        waited = time.monotonic() - started
    assert first is not None
    assert first.status_code == 200
    assert first.json()["version"] >= 1  # the body, read through the answer's json()
    assert first.headers.get("etag") == f'"{first.json()["version"]}"'  # any case of the name
    assert second is not None
    assert second.status_code == 200
    assert stats.rate_limited >= 1
    assert waited >= 1.0  # it waited for Retry-After instead of hammering


async def test_keys_file_round_trip(server: LiveServer, token: str, tmp_path: Path) -> None:
    entries = await provision(server.client, token, Plan(devices=1, batch="sim-keys"))
    path = tmp_path / "keys.json"
    save_keys(path, entries)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_keys(path) == orjson.loads(orjson.dumps(entries))


async def test_the_cli_runs_for_its_duration_and_prints_a_summary(
    server: LiveServer, token: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "climasense", "simulate",
        "--url", server.url, "--token", token, "--devices", "2", "--hubs", "1",
        "--sensors-per-hub", "1", "--interval", "1", "--duration", "2", "--batch", "sim-cli",
        "--save-keys", str(keys), "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    summary = orjson.loads(stdout)
    assert summary["devices"] == 3
    assert summary["sensors"] == 1
    assert 2 <= summary["seconds"] < 10
    assert summary["requests"] > 0
    assert summary["telemetry_posts"] > 0
    assert summary["readings_rejected"] == 0
    assert summary["sensors_registered"] == 1
    assert summary["errors"] == 0
    assert len(read_keys(keys)) == 4
    async with httpx.AsyncClient(base_url=server.url) as client:
        listed = await client.get(
            "/admin/v1/devices", params={"batch": "sim-cli"}, headers=bearer(token)
        )
    assert len(listed.json()["devices"]) == 4


async def test_the_cli_refuses_to_run_without_credentials() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "climasense", "simulate", "--devices", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert b"--token" in stderr


class _CutStream(httpx.AsyncByteStream):
    """A response body that breaks off after `limit` bytes, as a dropped radio link does."""

    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.inner:
            if sent + len(chunk) >= self.limit:
                yield chunk[: self.limit - sent]
                raise httpx.ReadError("link dropped")
            sent += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _DropFirstDownload(httpx.AsyncBaseTransport):
    """The real server over a real connection, except that the first firmware download is cut
    off part-way; every download's Range header and status are recorded."""

    def __init__(self, cut_after: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.cut_after = cut_after
        self.downloads: list[tuple[str | None, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.startswith("/v1/ota/download/"):
            return response
        self.downloads.append((request.headers.get("range"), response.status_code))
        if len(self.downloads) > 1:
            return response
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CutStream(response.stream, self.cut_after),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_dropped_download_resumes_from_the_last_byte(
    server: LiveServer, token: str
) -> None:
    model = f"SIM-{secrets.token_hex(4)}"
    [entry] = await provision(server.client, token, Plan(devices=1, model=model, batch="sim-cut"))
    await _publish(server, token, model, "1.2.0", "sim-cut")
    transport = _DropFirstDownload(cut_after=50_000)
    stats = Stats()
    deadline = time.monotonic() + 3
    async with httpx.AsyncClient(base_url=server.url, transport=transport) as http:
        [device] = build_devices(
            [entry], http, stats, Timing(interval=60, command_poll=60, ota_check=0.5),
            deadline=deadline,
        )  # fmt: skip
        await asyncio.wait_for(run_fleet([device], deadline), timeout=20)

    assert transport.downloads == [(None, 200), ("bytes=50000-", 206)]
    assert stats.downloads_resumed == 1
    # The resumed image verified (sha256 over both parts) and was applied.
    assert device.firmware_version == "1.2.0"
    walked = [status for status, _ in await _ota_reports(server, entry["device_id"])]
    assert walked == [
        "downloading", "downloading", "downloaded", "verifying", "applying", "completed"
    ]  # fmt: skip


async def test_provisioned_devices_carry_the_given_tags(server: LiveServer, token: str) -> None:
    mark = "sim-" + secrets.token_hex(4)
    entries = await provision(
        server.client, token, Plan(devices=2, hubs=1, batch="sim-tags", tags=(mark, "canary"))
    )
    listed = await server.client.get(
        "/admin/v1/devices", params={"tag": mark}, headers=bearer(token)
    )
    assert {d["device_id"] for d in listed.json()["devices"]} == {e["device_id"] for e in entries}
    assert all(d["tags"] == sorted([mark, "canary"]) for d in listed.json()["devices"])
