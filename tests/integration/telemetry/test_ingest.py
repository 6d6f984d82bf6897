"""`POST /v1/telemetry` end to end: validation over HTTP, storage, idempotency, device state,
the alert outbox and hub sensors (CONTRACT §4.1, §4.5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from climasense.alerts.outbox import shard_expression
from tests.conftest import make_settings
from tests.support.factories import bearer
from tests.support.server import LiveServer, live_server
from tests.support.telemetry import (
    iso,
    minutes_ago,
    outbox,
    pair_sensor,
    post_batch,
    reading,
    stored,
)


@pytest.fixture
async def server(database_url: str, tmp_path: object) -> AsyncIterator[LiveServer]:
    """The app without its in-process worker: the worker's alert evaluator consumes the
    outbox rows these tests look at (a race that made the outbox tests flaky)."""
    async with live_server(make_settings(database_url, tmp_path, run_worker=False)) as live:
        yield live


async def test_a_valid_batch_is_stored_and_answered_202(
    server: LiveServer, device: dict[str, Any]
) -> None:
    ts = minutes_ago(2)
    response = await post_batch(
        server.client,
        device["api_key"],
        {
            "readings": [
                reading("temperature", 23.5, timestamp=ts),
                reading("humidity", 45.2, timestamp=ts),
                reading("battery_level", 87, timestamp=ts),
            ]
        },
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 3
    assert body["rejected"] == 0
    assert body["duplicates"] == 0
    assert body["errors"] == []
    server_time = datetime.fromisoformat(body["timestamp"])
    assert abs((server_time - datetime.now(UTC)).total_seconds()) < 30
    assert response.headers["RateLimit-Policy"].startswith('"telemetry"')
    rows = await stored(server.services, device["device_id"])
    assert [(r["sensor_type"], r["value"]) for r in rows] == [(1, 23.5), (2, 45.2), (5, 87.0)]
    assert all(iso(r["ts"]) == ts and r["hub_id"] is None for r in rows)


async def test_bad_readings_are_rejected_alone_and_the_rest_stored(
    server: LiveServer, device: dict[str, Any]
) -> None:
    body = {
        "readings": [
            reading("temperature", 20.0, timestamp=minutes_ago(3)),
            reading("humidity", 145.0),
            reading("co2", 400),
            reading("pressure", 1000, timestamp=iso(datetime.now(UTC) + timedelta(minutes=10))),
            reading("iaq", 50, timestamp=iso(datetime.now(UTC) - timedelta(days=91))),
            reading("iaq", 50, timestamp="2026-01-01T00:00:00"),
            reading("battery_level", True),
            reading("signal_strength", -70, timestamp=minutes_ago(3)),
        ]
    }
    response = await post_batch(server.client, device["api_key"], body)
    assert response.status_code == 202, response.text
    result = response.json()
    assert (result["accepted"], result["rejected"], result["duplicates"]) == (2, 6, 0)
    assert [(e["index"], e["error"]) for e in result["errors"]] == [
        (1, "out_of_range"),
        (2, "unknown_sensor_type"),
        (3, "timestamp_in_future"),
        (4, "timestamp_too_old"),
        (5, "invalid_timestamp"),
        (6, "invalid_value"),
    ]
    rows = await stored(server.services, device["device_id"])
    assert sorted(r["sensor_type"] for r in rows) == [1, 6]


async def test_envelope_errors_are_422_and_store_nothing(
    server: LiveServer, device: dict[str, Any]
) -> None:
    key = device["api_key"]
    cases = [
        ({"readings": []}, "readings"),
        ({"readings": [reading()] * 101}, "readings"),
        ({"readings": [reading(), 5]}, "readings[1]"),
        ({"readings": [reading()], "color": "red"}, "color"),
        ({"readings": [reading()], "latitude": 10}, "longitude"),
        ({"readings": [reading()], "latitude": 100, "longitude": 0}, "latitude"),
        ([reading()], "body"),
    ]
    for body, field in cases:
        response = await post_batch(server.client, key, body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()
        assert error["error"] == "validation_error"
        assert field in [d["field"] for d in error["details"]], error
    assert await stored(server.services, device["device_id"]) == []


async def test_body_errors_400_413_415(server: LiveServer, device: dict[str, Any]) -> None:
    headers = {**bearer(device["api_key"]), "Content-Type": "application/json"}
    for raw in (b"{", b'{"readings": [{"sensor_type": "iaq", "value": NaN}]}', b""):
        response = await server.client.post("/v1/telemetry", content=raw, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_json"
    response = await server.client.post(
        "/v1/telemetry",
        content=b"readings=1",
        headers={**bearer(device["api_key"]), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    response = await server.client.post(
        "/v1/telemetry", content=b"[" + b" " * 300_000 + b"]", headers=headers
    )
    assert response.status_code == 413


async def test_a_retried_batch_stores_nothing_twice(
    server: LiveServer, device: dict[str, Any]
) -> None:
    batch = {"readings": [reading(value=float(i), timestamp=minutes_ago(i)) for i in range(1, 6)]}
    first = (await post_batch(server.client, device["api_key"], batch)).json()
    assert (first["accepted"], first["duplicates"]) == (5, 0)
    batch["readings"].append(reading("humidity", 50))
    second = (await post_batch(server.client, device["api_key"], batch)).json()
    assert (second["accepted"], second["duplicates"], second["rejected"]) == (6, 5, 0)
    assert len(await stored(server.services, device["device_id"])) == 6
    # The same key twice inside one batch: stored once, the repeat counted as a duplicate.
    ts = minutes_ago(30)
    twice = {"readings": [reading(value=1, timestamp=ts), reading(value=2, timestamp=ts)]}
    result = (await post_batch(server.client, device["api_key"], twice)).json()
    assert (result["accepted"], result["duplicates"]) == (2, 1)
    assert len(await stored(server.services, device["device_id"])) == 7


async def test_an_offset_timestamp_is_the_same_reading_as_its_utc_form(
    server: LiveServer, device: dict[str, Any]
) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    utc = {"readings": [reading(timestamp=iso(base))]}
    shifted = base.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"
    plus_two = (base + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    await post_batch(server.client, device["api_key"], utc)
    for ts in (shifted, plus_two):
        result = (
            await post_batch(
                server.client, device["api_key"], {"readings": [reading(timestamp=ts)]}
            )
        ).json()
        assert result["duplicates"] == 1, (ts, result)


async def test_concurrent_copies_of_one_batch_store_each_reading_once(
    server: LiveServer, device: dict[str, Any]
) -> None:
    batch = {
        "readings": [
            reading(t, 10.0 + i, timestamp=minutes_ago(i))
            for i in range(1, 11)
            for t in ("temperature", "humidity")
        ]
    }
    responses = await asyncio.gather(
        *(post_batch(server.client, device["api_key"], batch) for _ in range(6))
    )
    results = [r.json() for r in responses]
    assert all(r.status_code == 202 for r in responses)
    assert all(r["accepted"] == 20 for r in results)
    # Exactly one copy's worth is new, however the copies were grouped into commits.
    assert sum(20 - r["duplicates"] for r in results) == 20
    assert len(await stored(server.services, device["device_id"])) == 20
    rows = await outbox(server.services, device["device_id"])
    assert sum(len(r["timestamps"]) for r in rows) == 20


async def test_outbox_holds_exactly_the_new_readings(
    server: LiveServer, device: dict[str, Any]
) -> None:
    device_id = device["device_id"]
    first = [
        reading("temperature", 20, timestamp=minutes_ago(5)),
        reading("humidity", 40, timestamp=minutes_ago(6)),
    ]
    await post_batch(server.client, device["api_key"], {"readings": first})
    rows = await outbox(server.services, device_id)
    assert len(rows) == 1
    # The three arrays list the readings in one order, not necessarily the time order (the
    # evaluator orders each series itself; alerts/outbox.py).
    triples = zip(rows[0]["sensor_types"], rows[0]["timestamps"], rows[0]["values"], strict=True)
    assert sorted(triples) == [
        (1, datetime.fromisoformat(first[0]["timestamp"]), 20.0),
        (2, datetime.fromisoformat(first[1]["timestamp"]), 40.0),
    ]
    assert rows[0]["shard"] == await server.services.pool.fetchval(
        f"SELECT {shard_expression('$1::uuid')}", UUID(device_id)
    )
    # A retry with one new reading adds one row holding only that reading.
    await post_batch(
        server.client,
        device["api_key"],
        {"readings": [*first, reading("iaq", 77, timestamp=minutes_ago(4))]},
    )
    rows = await outbox(server.services, device_id)
    assert len(rows) == 2
    assert (rows[1]["sensor_types"], rows[1]["values"]) == ([7], [77.0])
    # A pure retry adds nothing.
    await post_batch(server.client, device["api_key"], {"readings": first})
    assert len(await outbox(server.services, device_id)) == 2


async def test_last_seen_position_and_latest_values(
    server: LiveServer, device: dict[str, Any]
) -> None:
    device_id = UUID(device["device_id"])
    pool = server.services.pool
    before = datetime.now(UTC) - timedelta(seconds=1)
    await post_batch(
        server.client,
        device["api_key"],
        {
            "latitude": 37.7749,
            "longitude": -122.4194,
            "readings": [reading("temperature", 20, timestamp=minutes_ago(10))],
        },
    )
    row = await pool.fetchrow(
        "SELECT last_seen_at, latitude, longitude, position_at FROM devices WHERE device_id = $1",
        device_id,
    )
    assert row["last_seen_at"] >= before
    assert (row["latitude"], row["longitude"]) == (37.7749, -122.4194)
    assert row["position_at"] >= before
    # Without a position the last one stays; an older reading does not replace the latest.
    await post_batch(
        server.client,
        device["api_key"],
        {"readings": [reading("temperature", 30, timestamp=minutes_ago(2))]},
    )
    await post_batch(
        server.client,
        device["api_key"],
        {"readings": [reading("temperature", 25, timestamp=minutes_ago(20))]},
    )
    row = await pool.fetchrow(
        "SELECT latitude, longitude FROM devices WHERE device_id = $1", device_id
    )
    assert (row["latitude"], row["longitude"]) == (37.7749, -122.4194)
    latest = await pool.fetchrow(
        "SELECT value, ts FROM device_latest_readings WHERE device_id = $1 AND sensor_type = 1",
        device_id,
    )
    assert latest["value"] == 30.0
    assert iso(latest["ts"]) == minutes_ago(2, latest["ts"] + timedelta(minutes=2))
    detail = await server.client.get(
        f"/admin/v1/devices/{device_id}", headers=bearer(await _token(server))
    )
    assert detail.status_code == 200
    assert [r["value"] for r in detail.json()["latest_readings"]] == [30.0]


async def test_a_batch_of_only_rejected_readings_still_marks_the_device_seen(
    server: LiveServer, device: dict[str, Any]
) -> None:
    response = await post_batch(
        server.client, device["api_key"], {"readings": [reading("humidity", 200)]}
    )
    assert response.json()["accepted"] == 0
    seen = await server.services.pool.fetchval(
        "SELECT last_seen_at FROM devices WHERE device_id = $1", UUID(device["device_id"])
    )
    assert seen is not None


async def test_hub_submits_for_its_own_sensors_only(
    server: LiveServer, make_device: Callable[..., Any]
) -> None:
    hub, other_hub = await make_device("hub", count=2)
    mine, theirs, loose = await make_device("zigbee_sensor", count=3)
    await pair_sensor(server.services, hub["device_id"], mine["device_id"])
    await pair_sensor(server.services, other_hub["device_id"], theirs["device_id"])
    ts = minutes_ago(1)
    response = await post_batch(
        server.client,
        hub["api_key"],
        {
            "readings": [
                reading("temperature", 19, timestamp=ts, sensor_id=mine["device_id"]),
                reading("temperature", 20, timestamp=ts, sensor_id=theirs["device_id"]),
                reading("temperature", 21, timestamp=ts, sensor_id=loose["device_id"]),
                reading("temperature", 22, timestamp=ts, sensor_id=hub["device_id"]),
                reading("temperature", 23, timestamp=ts, sensor_id="not-a-uuid"),
                reading("temperature", 24, timestamp=ts),
            ]
        },
    )
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["accepted"] == 2
    assert [(e["index"], e["error"]) for e in result["errors"]] == [
        (1, "unknown_sensor"),
        (2, "unknown_sensor"),
        (3, "unknown_sensor"),
        (4, "unknown_sensor"),
    ]
    # The sensor's reading is stored under the sensor, marked with the hub; the hub's own
    # reading under the hub. Same type and time, different sensors: both kept.
    sensor_rows = await stored(server.services, mine["device_id"])
    assert [(r["value"], r["hub_id"]) for r in sensor_rows] == [(19.0, UUID(hub["device_id"]))]
    assert [r["value"] for r in await stored(server.services, hub["device_id"])] == [24.0]
    assert await stored(server.services, theirs["device_id"]) == []
    seen = await server.services.pool.fetch(
        "SELECT device_id FROM devices WHERE device_id = ANY($1::uuid[]) AND last_seen_at IS NOT NULL",
        [UUID(hub["device_id"]), UUID(mine["device_id"]), UUID(theirs["device_id"])],
    )
    assert {r["device_id"] for r in seen} == {UUID(hub["device_id"]), UUID(mine["device_id"])}
    assert len(await outbox(server.services, mine["device_id"])) == 1


async def test_sensor_id_from_a_standalone_device_is_rejected(
    server: LiveServer, device: dict[str, Any], make_device: Callable[..., Any]
) -> None:
    (sensor,) = await make_device("zigbee_sensor")
    response = await post_batch(
        server.client,
        device["api_key"],
        {"readings": [reading(sensor_id=sensor["device_id"]), reading("humidity", 40)]},
    )
    result = response.json()
    assert result["accepted"] == 1
    assert result["errors"][0]["error"] == "unknown_sensor"


async def test_a_zigbee_sensor_key_is_403(
    server: LiveServer, make_device: Callable[..., Any]
) -> None:
    (sensor,) = await make_device("zigbee_sensor")
    response = await post_batch(server.client, sensor["api_key"], {"readings": [reading()]})
    assert response.status_code == 403


async def _token(server: LiveServer) -> str:
    from tests.support.factories import admin_token

    return await admin_token(server.services)
