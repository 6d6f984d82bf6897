"""The simulator against a live server, for what this server has: provisioning through the
operator API, settings, rate limits. Endpoints a server lacks are noted, never fatal; where
they exist, the simulator's counts must show them used."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
import orjson

from climasense.settings import RateLimit
from climasense.simulator.client import DeviceClient, Stats
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


def _used_or_missing(stats: Stats, endpoint: str, used: int) -> bool:
    return used > 0 or endpoint in stats.missing_endpoints


async def test_a_short_run_provisions_and_drives_the_fleet(server: LiveServer, token: str) -> None:
    plan = Plan(devices=2, hubs=1, sensors_per_hub=2, batch="sim-live")
    entries = await provision(server.client, token, plan)
    assert sorted(e["kind"] for e in entries) == [
        "hub",
        "standalone",
        "standalone",
        "zigbee_sensor",
        "zigbee_sensor",
    ]
    listed = await server.client.get(
        "/admin/v1/devices", params={"batch": "sim-live"}, headers=bearer(token)
    )
    assert {d["device_id"] for d in listed.json()["devices"]} == {e["device_id"] for e in entries}

    stats = Stats()
    deadline = time.monotonic() + 2.5
    timing = Timing(interval=1, command_poll=2, ota_check=6)
    fleet = build_devices(
        entries, server.client, stats, timing, deadline=deadline, sensors_per_hub=2
    )
    assert [len(d.sensors) for d in fleet if d.identity.kind == "hub"] == [2]
    await asyncio.wait_for(run_fleet(fleet, deadline), timeout=20)

    # Settings exist on every server: each device read its document.
    assert all(d.settings_version == 1 for d in fleet)
    standalone = next(d for d in fleet if d.identity.kind == "standalone")
    assert "iaq" in standalone.enabled_sensors
    assert _used_or_missing(stats, "POST /v1/telemetry", stats.telemetry_posts)
    assert _used_or_missing(stats, "GET /v1/commands/pending", 1 if stats.requests else 0)
    assert _used_or_missing(stats, "POST /v1/hub/sensors", stats.sensors_registered)
    assert stats.errors == 0


async def test_rate_limited_settings_reads_wait_for_retry_after(
    fresh_database_url: str, tmp_path: Path
) -> None:
    limits = dict(make_settings(fresh_database_url, tmp_path).rate_limits)
    limits["settings_get"] = RateLimit(1, 2)
    settings = make_settings(fresh_database_url, tmp_path, rate_limits=limits)
    async with live_server(settings) as live:
        token = await admin_token(live.services)
        [entry] = await provision(live.client, token, Plan(devices=1, batch="sim-429"))
        stats = Stats()
        client = DeviceClient(live.client, entry["api_key"], stats, deadline=time.monotonic() + 30)
        first = await client.request("GET", "/v1/settings")
        started = time.monotonic()
        second = await client.request("GET", "/v1/settings")
        waited = time.monotonic() - started
    assert first is not None
    assert first.status_code == 200
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
