from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from climasense.simulator import physics
from climasense.simulator.client import DeviceClient, Stats
from climasense.simulator.device import Identity, Sensor, Timing, VirtualDevice
from tests.unit.simulator.fake_api import FakeDeviceAPI


@pytest.fixture
async def http_for() -> AsyncIterator[list[httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []
    yield clients
    for client in clients:
        await client.aclose()


def make_device(
    api: FakeDeviceAPI, clients: list[httpx.AsyncClient], kind: str = "standalone", **timing: float
) -> VirtualDevice:
    http = httpx.AsyncClient(base_url="http://device-api", transport=api.transport())
    clients.append(http)
    stats = Stats()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    client = DeviceClient(http, "csd_key", stats, sleep=sleep)
    client.slept = slept  # type: ignore[attr-defined]
    identity = Identity("11111111-2222-3333-4444-555555555555", "CS-ST-0000001", "csd_key", kind)
    return VirtualDevice(
        identity=identity,
        client=client,
        physics=physics.for_device(kind, 1, -122.4),
        timing=Timing(**timing),  # type: ignore[arg-type]
        rng=random.Random(1),
        latitude=37.8,
        longitude=-122.4,
    )


async def test_setup_reads_settings(http_for: list[httpx.AsyncClient]) -> None:
    api = FakeDeviceAPI()
    device = make_device(api, http_for)
    await device.setup()
    assert device.enabled_sensors == ["temperature", "battery_level"]
    assert device.settings_version == 3


async def test_report_posts_enabled_sensors_with_position(
    http_for: list[httpx.AsyncClient],
) -> None:
    api = FakeDeviceAPI()
    device = make_device(api, http_for)
    await device.setup()
    await device.report(datetime(2026, 5, 1, 12, tzinfo=UTC))
    [body] = api.telemetry
    assert [r["sensor_type"] for r in body["readings"]] == ["temperature", "battery_level"]
    assert body["readings"][0]["timestamp"] == "2026-05-01T12:00:00Z"
    assert abs(body["latitude"] - 37.8) < 0.01
    assert device.client.stats.readings_accepted == 2


async def test_hub_registers_sensors_and_reports_for_them(
    http_for: list[httpx.AsyncClient],
) -> None:
    api = FakeDeviceAPI()
    hub = make_device(api, http_for, kind="hub")
    for n in range(2):
        identity = Identity(
            f"0000000{n}-0000-0000-0000-000000000000", f"CS-ZB-{n}", f"csz_{n}", "zigbee_sensor"
        )
        hub.sensors.append(Sensor(identity, physics.for_device("zigbee_sensor", n, 0)))
    await hub.setup()
    registrations = [b for m, p, b in api.calls if p == "/v1/hub/sensors"]
    assert registrations[0]["sensor_api_key"] == "csz_0"
    assert registrations[0]["ieee_address"] == "0x00124b0000000000"
    await hub.report(datetime(2026, 5, 1, tzinfo=UTC))
    readings = api.telemetry[0]["readings"]
    by_sensor = {r.get("sensor_id") for r in readings}
    assert by_sensor == {None, "sid-csz_0", "sid-csz_1"}
    assert {r["sensor_type"] for r in readings if r.get("sensor_id")} == {
        "temperature",
        "humidity",
        "battery_level",
    }


async def test_backfill_posts_history_in_batches_of_at_most_100(
    http_for: list[httpx.AsyncClient],
) -> None:
    api = FakeDeviceAPI()
    device = make_device(api, http_for)
    device.enabled_sensors = list(physics.RANGES)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    await device.backfill(24, timedelta(minutes=10), now)
    sizes = [len(b["readings"]) for b in api.telemetry]
    assert max(sizes) <= 100
    assert sum(sizes) == 144 * 7
    stamps = [r["timestamp"] for b in api.telemetry for r in b["readings"]]
    assert stamps == sorted(stamps)
    assert stamps[0] == "2026-04-30T00:00:00Z"


async def test_diagnostics_are_acked_with_a_result(http_for: list[httpx.AsyncClient]) -> None:
    api = FakeDeviceAPI(pending=[{"command_id": "c1", "type": "diagnostics", "payload": {}}])
    device = make_device(api, http_for)
    await device.poll_commands()
    [ack] = api.acks
    assert ack["status"] == "acked"
    assert ack["result"]["firmware_version"] == "1.0.0"
    assert 0 <= ack["result"]["battery_level"] <= 100
    assert device.client.stats.commands_acked == 1


async def test_config_update_applies_the_new_document(http_for: list[httpx.AsyncClient]) -> None:
    document = {"enabled_sensors": ["humidity"], "version": 9, "reporting_interval_seconds": 60}
    api = FakeDeviceAPI(
        pending=[{"command_id": "c2", "type": "config_update", "payload": document}]
    )
    device = make_device(api, http_for)
    await device.poll_commands()
    assert device.enabled_sensors == ["humidity"]
    assert api.acks[0]["result"] == {"applied_version": 9}


async def test_unknown_command_is_reported_failed(http_for: list[httpx.AsyncClient]) -> None:
    api = FakeDeviceAPI(pending=[{"command_id": "c3", "type": "self_destruct", "payload": {}}])
    device = make_device(api, http_for)
    await device.poll_commands()
    assert api.acks[0]["status"] == "failed"
    assert "self_destruct" in api.acks[0]["error_message"]


async def test_ota_walks_download_verify_apply(http_for: list[httpx.AsyncClient]) -> None:
    api = FakeDeviceAPI(firmware=bytes(range(256)) * 100)
    device = make_device(api, http_for)
    await device.check_ota()
    statuses = [r["status"] for r in api.ota_reports]
    assert statuses == ["downloading", "downloaded", "verifying", "applying", "completed"]
    assert {r["version"] for r in api.ota_reports} == {"1.1.0"}
    assert device.firmware_version == "1.1.0"
    await device.check_ota()  # up to date now: nothing more
    assert len(api.ota_reports) == 5


async def test_ota_with_a_bad_checksum_fails_and_is_not_retried(
    http_for: list[httpx.AsyncClient],
) -> None:
    api = FakeDeviceAPI(firmware=b"firmware image", corrupt_download=True)
    device = make_device(api, http_for)
    await device.check_ota()
    assert [r["status"] for r in api.ota_reports][-1] == "failed"
    assert api.ota_reports[-1]["error_message"] == "checksum mismatch"
    assert device.firmware_version == "1.0.0"
    await device.check_ota()
    assert len([r for r in api.ota_reports if r["status"] == "failed"]) == 1


async def test_ota_apply_failures_at_the_configured_rate(http_for: list[httpx.AsyncClient]) -> None:
    api = FakeDeviceAPI(firmware=b"image")
    device = make_device(api, http_for, ota_failure_rate=1.0)
    await device.check_ota()
    assert [r["status"] for r in api.ota_reports][-2:] == ["applying", "failed"]


async def test_429_is_retried_after_retry_after(http_for: list[httpx.AsyncClient]) -> None:
    api = FakeDeviceAPI(throttle_first=2, retry_after="7")
    device = make_device(api, http_for)
    response = await device.client.request("GET", "/v1/settings")
    assert response is not None
    assert response.status_code == 200
    assert device.client.slept == [7.0, 7.0]  # type: ignore[attr-defined]
    assert device.client.stats.rate_limited == 2


async def test_429_gives_up_rather_than_wait_past_the_deadline(
    http_for: list[httpx.AsyncClient],
) -> None:
    api = FakeDeviceAPI(throttle_first=5, retry_after="30")
    device = make_device(api, http_for)
    device.client.deadline = 10.0
    device.client._clock = lambda: 0.0
    response = await device.client.request("GET", "/v1/settings")
    assert response is not None
    assert response.status_code == 429
    assert device.client.slept == []  # type: ignore[attr-defined]


async def test_backfill_is_dense_for_two_days_and_hourly_before(
    http_for: list[httpx.AsyncClient],
) -> None:
    api = FakeDeviceAPI()
    device = make_device(api, http_for)
    device.enabled_sensors = ["temperature"]
    now = datetime(2026, 5, 1, tzinfo=UTC)
    await device.backfill(96, timedelta(minutes=5), now, older_step=timedelta(hours=1))
    stamps = [datetime.fromisoformat(r["timestamp"]) for b in api.telemetry for r in b["readings"]]
    gaps = {b - a for a, b in itertools.pairwise(stamps)}
    assert gaps == {timedelta(hours=1), timedelta(minutes=5)}
    assert stamps[0] == now - timedelta(hours=96)
    assert len([s for s in stamps if now - s <= timedelta(hours=48)]) == 48 * 12
