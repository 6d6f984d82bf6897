"""Telemetry a hub submits on behalf of its Zigbee sensors (CONTRACT §4.1 `sensor_id`, §4.5).

PENDING: `POST /v1/telemetry` is built in the `telemetry` branch. This file is named so pytest
does not collect it; once telemetry is merged, rename it to `test_hub_telemetry.py`.

What the contract fixes and these tests check: a reading with `sensor_id` is stored as that
sensor's reading (its `device_id`, with `hub_id` = the submitting hub), updates the sensor's
`last_seen_at` and latest values; a `sensor_id` that is not a sensor paired to the caller (or
any `sensor_id` from a non-hub) rejects only that reading, reported with its index. Error codes
of those per-reading rejections are the telemetry branch's choice, so only `index` is checked.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.hub.pairing import device_detail, hub_and_sensors, register
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


def _at(seconds_ago: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)
    return moment.isoformat().replace("+00:00", "Z")


def reading(
    value: float, ts: str, sensor_id: str | None = None, kind: str = "temperature"
) -> dict[str, Any]:
    body: dict[str, Any] = {"sensor_type": kind, "value": value, "timestamp": ts}
    if sensor_id is not None:
        body["sensor_id"] = sensor_id
    return body


async def submit(server: LiveServer, key: str, readings: list[dict[str, Any]]) -> dict[str, Any]:
    response = await server.client.post(
        "/v1/telemetry", json={"readings": readings}, headers=bearer(key)
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored(server: LiveServer, device_id: str) -> list[tuple[float, Any]]:
    """(value, hub_id) of the device's readings, in time order, straight from `readings`."""
    rows = await server.services.pool.fetch(
        "SELECT value, hub_id FROM readings WHERE device_id = $1 ORDER BY ts, sensor_type",
        uuid.UUID(device_id),
    )
    return [(row["value"], row["hub_id"]) for row in rows]


async def paired_hub(
    server: LiveServer, token: str, sensors: int = 1
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    hub, provisioned = await hub_and_sensors(server.client, token, sensors=sensors)
    for sensor in provisioned:
        response = await register(server.client, hub["api_key"], sensor["api_key"])
        assert response.status_code == 201, response.text
    return hub, provisioned


async def test_a_hub_submits_readings_for_its_sensor(server: LiveServer, token: str) -> None:
    hub, [sensor] = await paired_hub(server, token)
    ts = _at(30)
    # Same type and time for the hub and its sensor: two different readings.
    body = await submit(
        server, hub["api_key"], [reading(21.5, ts), reading(4.25, ts, sensor["device_id"])]
    )
    assert (body["accepted"], body["rejected"], body["duplicates"]) == (2, 0, 0), body

    hub_uuid = uuid.UUID(hub["device_id"])
    assert await stored(server, sensor["device_id"]) == [(4.25, hub_uuid)]
    assert [value for value, _ in await stored(server, hub["device_id"])] == [21.5]

    sensor_view = await device_detail(server.client, token, sensor["device_id"])
    assert sensor_view["last_seen_at"] is not None
    assert [(r["sensor_type"], r["value"]) for r in sensor_view["latest_readings"]] == [
        ("temperature", 4.25)
    ]
    hub_view = await device_detail(server.client, token, hub["device_id"])
    assert [(r["sensor_type"], r["value"]) for r in hub_view["latest_readings"]] == [
        ("temperature", 21.5)
    ]

    # Retrying the batch stores nothing twice.
    retry = await submit(
        server, hub["api_key"], [reading(21.5, ts), reading(4.25, ts, sensor["device_id"])]
    )
    assert (retry["accepted"], retry["duplicates"]) == (2, 2), retry
    assert len(await stored(server, sensor["device_id"])) == 1


async def test_readings_for_sensors_the_hub_does_not_hold_are_rejected_alone(
    server: LiveServer, token: str
) -> None:
    hub, [own] = await paired_hub(server, token)
    other_hub, [foreign] = await paired_hub(server, token)
    [unpaired] = await provision(server.client, token, kind="zigbee_sensor")
    [standalone] = await provision(server.client, token)
    ts = _at(60)
    batch = [
        reading(20.0, ts),  # 0: the hub's own
        reading(1.0, ts, foreign["device_id"]),  # 1: another hub's sensor
        reading(2.0, ts, unpaired["device_id"]),  # 2: a sensor no hub holds
        reading(3.0, ts, str(uuid.uuid4())),  # 3: no such device
        reading(4.0, ts, standalone["device_id"]),  # 4: not a sensor at all
        reading(5.0, ts, other_hub["device_id"]),  # 5: another hub
        reading(6.0, ts, hub["device_id"]),  # 6: the caller itself is not its sensor
        reading(7.0, ts, "not-a-uuid"),  # 7: not an id
        reading(8.0, ts, own["device_id"]),  # 8: its own sensor
    ]
    body = await submit(server, hub["api_key"], batch)
    assert (body["accepted"], body["rejected"]) == (2, 7), body
    assert sorted(e["index"] for e in body["errors"]) == [1, 2, 3, 4, 5, 6, 7]

    assert [v for v, _ in await stored(server, own["device_id"])] == [8.0]
    assert [v for v, _ in await stored(server, hub["device_id"])] == [20.0]
    for untouched in (foreign, unpaired, standalone, other_hub):
        assert await stored(server, untouched["device_id"]) == []
    foreign_view = await device_detail(server.client, token, foreign["device_id"])
    assert foreign_view["last_seen_at"] is None
    assert foreign_view["latest_readings"] == []


async def test_a_non_hub_sending_sensor_id_has_that_reading_rejected(
    server: LiveServer, token: str
) -> None:
    _, [sensor] = await paired_hub(server, token)
    [standalone] = await provision(server.client, token)
    ts = _at(45)
    body = await submit(
        server,
        standalone["api_key"],
        [reading(19.0, ts), reading(50.0, ts, sensor["device_id"], kind="humidity")],
    )
    assert (body["accepted"], body["rejected"]) == (1, 1), body
    assert [e["index"] for e in body["errors"]] == [1]
    assert await stored(server, sensor["device_id"]) == []
    assert [v for v, _ in await stored(server, standalone["device_id"])] == [19.0]


async def test_after_unpairing_the_hub_can_no_longer_report_for_the_sensor(
    server: LiveServer, token: str
) -> None:
    hub, [sensor] = await paired_hub(server, token)
    [new_hub] = await provision(server.client, token, kind="hub")
    first = await submit(server, hub["api_key"], [reading(10.0, _at(120), sensor["device_id"])])
    assert first["accepted"] == 1, first

    unpair = await server.client.delete(
        f"/v1/hub/sensors/{sensor['device_id']}", headers=bearer(hub["api_key"])
    )
    assert unpair.status_code == 204
    late = await submit(server, hub["api_key"], [reading(11.0, _at(90), sensor["device_id"])])
    assert (late["accepted"], late["rejected"]) == (0, 1), late

    assert (await register(server.client, new_hub["api_key"], sensor["api_key"])).status_code == 201
    moved = await submit(server, new_hub["api_key"], [reading(12.0, _at(60), sensor["device_id"])])
    assert moved["accepted"] == 1, moved
    assert await stored(server, sensor["device_id"]) == [
        (10.0, uuid.UUID(hub["device_id"])),
        (12.0, uuid.UUID(new_hub["device_id"])),
    ]
