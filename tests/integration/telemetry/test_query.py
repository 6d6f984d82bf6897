"""`GET /admin/v1/devices/{id}/telemetry`: points, pagination, filters, buckets, rollups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from climasense.telemetry import rollup
from tests.support.factories import bearer
from tests.support.server import LiveServer
from tests.support.telemetry import iso, pair_sensor, post_batch

# Three days ago, on the hour: six hours of readings every 10 minutes, two sensor types.
BASE = (datetime.now(UTC) - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
TIMES = [BASE + timedelta(minutes=10 * i) for i in range(36)]


def temperature(i: int) -> float:
    return round(15 + (i * 7) % 11 + i / 10, 2)


def humidity(i: int) -> float:
    return float(30 + (i * 3) % 17)


async def load(client: Any, key: str, **extra: Any) -> None:
    readings = [
        {"sensor_type": name, "value": fn(i), "timestamp": iso(ts), **extra}
        for i, ts in enumerate(TIMES)
        for name, fn in (("temperature", temperature), ("humidity", humidity))
    ]
    for start in range(0, len(readings), 100):
        response = await post_batch(client, key, {"readings": readings[start : start + 100]})
        assert response.status_code == 202, response.text


@pytest.fixture
async def loaded(server: LiveServer, device: dict[str, Any]) -> dict[str, Any]:
    await load(server.client, device["api_key"])
    return device


async def get(server: LiveServer, token: str, device_id: str, **params: Any) -> Any:
    return await server.client.get(
        f"/admin/v1/devices/{device_id}/telemetry", params=params, headers=bearer(token)
    )


async def test_points_oldest_first_with_all_fields(
    server: LiveServer, token: str, loaded: dict[str, Any]
) -> None:
    response = await get(server, token, loaded["device_id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    points = body["points"]
    assert len(points) == 72
    assert points[0] == {
        "timestamp": iso(TIMES[0]),
        "sensor_type": "temperature",
        "sensor_id": None,
        "value": temperature(0),
    }
    assert points[1]["sensor_type"] == "humidity"
    keys = [(p["timestamp"], p["sensor_type"]) for p in points]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1] != "temperature"))


async def test_pages_chain_to_the_same_sequence(
    server: LiveServer, token: str, loaded: dict[str, Any]
) -> None:
    everything = (await get(server, token, loaded["device_id"])).json()["points"]
    paged: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        body = (await get(server, token, loaded["device_id"], **params)).json()
        assert len(body["points"]) <= 7
        paged.extend(body["points"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert paged == everything


async def test_a_page_that_ends_the_readings_has_no_next_cursor(
    server: LiveServer, token: str, loaded: dict[str, Any]
) -> None:
    """As every list: a cursor only when more rows exist, not when exactly `limit` remain."""
    everything = (await get(server, token, loaded["device_id"])).json()["points"]
    exact = (await get(server, token, loaded["device_id"], limit=len(everything))).json()
    assert exact["points"] == everything
    assert exact["next_cursor"] is None
    short = (await get(server, token, loaded["device_id"], limit=len(everything) - 1)).json()
    assert short["next_cursor"] is not None


async def test_filters_by_type_and_half_open_range(
    server: LiveServer, token: str, loaded: dict[str, Any]
) -> None:
    body = (
        await get(
            server,
            token,
            loaded["device_id"],
            sensor_type="humidity",
            **{"from": iso(TIMES[6]), "to": iso(TIMES[12])},
        )
    ).json()
    assert [p["timestamp"] for p in body["points"]] == [iso(t) for t in TIMES[6:12]]
    assert {p["sensor_type"] for p in body["points"]} == {"humidity"}
    assert [p["value"] for p in body["points"]] == [humidity(i) for i in range(6, 12)]


def expected_buckets(width: timedelta, rows: list[tuple[datetime, str, float]]) -> list[Any]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    groups: dict[tuple[datetime, str], list[float]] = defaultdict(list)
    for ts, name, value in rows:
        start = epoch + ((ts - epoch) // width) * width
        groups[(start, name)].append(value)
    order = {"temperature": 0, "humidity": 1}
    return [
        {
            "start": iso(start),
            "sensor_type": name,
            "count": len(values),
            "avg": pytest.approx(sum(values) / len(values)),
            "min": min(values),
            "max": max(values),
        }
        for (start, name), values in sorted(groups.items(), key=lambda g: (g[0][0], order[g[0][1]]))
    ]


ALL_ROWS = [
    (ts, name, fn(i))
    for i, ts in enumerate(TIMES)
    for name, fn in (("temperature", temperature), ("humidity", humidity))
]


@pytest.mark.parametrize("bucket", ["5m", "20m", "1h", "2h", "1d"])
async def test_buckets_aggregate_exactly(
    server: LiveServer, token: str, loaded: dict[str, Any], bucket: str
) -> None:
    width = {"5m": 5, "20m": 20, "1h": 60, "2h": 120, "1d": 1440}[bucket]
    response = await get(
        server,
        token,
        loaded["device_id"],
        bucket=bucket,
        **{"from": iso(BASE - timedelta(days=1)), "to": iso(BASE + timedelta(days=1))},
    )
    assert response.status_code == 200, response.text
    assert response.json()["buckets"] == expected_buckets(timedelta(minutes=width), ALL_ROWS)


async def test_hourly_rollups_count_each_reading_once(
    server: LiveServer, token: str, loaded: dict[str, Any]
) -> None:
    await load(server.client, loaded["api_key"])  # the whole history again: all duplicates
    device_id = UUID(loaded["device_id"])
    # Without from/to: the last 1000 buckets up to now, which covers BASE (three days ago).
    temperatures = [r for r in ALL_ROWS if r[1] == "temperature"]
    expected = expected_buckets(timedelta(hours=1), temperatures)
    for materialized in (False, True):  # read from `readings` until the job has run, then not
        if materialized:
            await rollup.materialize(server.services.pool)
            rows = await server.services.pool.fetch(
                """SELECT bucket, sum(count) AS n FROM readings_hourly WHERE device_id = $1
                   GROUP BY 1""",
                device_id,
            )
            assert sorted(r["n"] for r in rows) == [12] * 6
            assert not await server.services.pool.fetchval(
                "SELECT count(*) FROM rollup_invalidations WHERE device_id = $1", device_id
            )
        body = (
            await get(server, token, loaded["device_id"], bucket="1h", sensor_type="temperature")
        ).json()
        assert body["buckets"] == expected


async def test_hub_reads_one_sensor_by_sensor_id(
    server: LiveServer, token: str, make_device: Callable[..., Any]
) -> None:
    (hub,) = await make_device("hub")
    (sensor,) = await make_device("zigbee_sensor")
    await pair_sensor(server.services, hub["device_id"], sensor["device_id"])
    await load(server.client, hub["api_key"])
    await load(server.client, hub["api_key"], sensor_id=sensor["device_id"])
    own = (await get(server, token, hub["device_id"], limit=5)).json()["points"]
    assert {p["sensor_id"] for p in own} == {None}
    body = (
        await get(server, token, hub["device_id"], sensor_id=sensor["device_id"], limit=5)
    ).json()
    assert {p["sensor_id"] for p in body["points"]} == {sensor["device_id"]}
    assert body["next_cursor"] is not None
    direct = (await get(server, token, sensor["device_id"], limit=5)).json()["points"]
    assert direct == body["points"]
    buckets = (
        await get(
            server,
            token,
            hub["device_id"],
            sensor_id=sensor["device_id"],
            bucket="1d",
            **{"from": iso(BASE - timedelta(days=2))},
        )
    ).json()["buckets"]
    assert sum(b["count"] for b in buckets) == 72
    for missing in (str(uuid4()), "nope", hub["device_id"]):
        response = await get(server, token, hub["device_id"], sensor_id=missing)
        assert response.status_code == 404, missing


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sensor_type": "co2"}, "sensor_type"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-01-01T00:00:00"}, "to"),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"bucket": "fortnight"}, "bucket"),
        ({"bucket": "1m", "from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "bucket"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    server: LiveServer, token: str, device: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    response = await get(server, token, device["device_id"], **params)
    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["details"]]


async def test_unknown_device_404_and_admin_only(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    assert (await get(server, token, str(uuid4()))).status_code == 404
    assert (await get(server, token, "not-a-uuid")).status_code == 404
    response = await server.client.get(
        f"/admin/v1/devices/{device['device_id']}/telemetry", headers=bearer(device["api_key"])
    )
    assert response.status_code == 401
