"""The TimescaleDB storage path, for real: PGlite with the TimescaleDB extension.

One server for the module on one PGlite connection (pool max_size=1): every check goes
through that pool, since PGlite serves a single connection at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from climasense.telemetry.maintenance import maintain
from tests.conftest import make_settings
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import LiveServer, live_server
from tests.support.telemetry import iso, minutes_ago, outbox, pair_sensor, post_batch, stored
from tests.support.timescale import pglite_timescale

pytestmark = pytest.mark.timescale


@pytest.fixture(scope="module")
def timescale_url() -> Iterator[str]:
    with pglite_timescale() as url:
        yield url


@pytest.fixture(scope="module")
async def ts_server(
    timescale_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        timescale_url,
        tmp_path_factory.mktemp("timescale"),
        db_pool_min=1,
        db_pool_max=1,
        run_worker=False,
    )
    async with live_server(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def ts_token(ts_server: LiveServer) -> str:
    return await admin_token(ts_server.services)


async def test_migrations_make_a_compressed_retained_hypertable_with_hourly_aggregate(
    ts_server: LiveServer,
) -> None:
    pool = ts_server.services.pool
    assert await pool.fetchval("SELECT engine FROM storage_info") == "timescaledb"
    segmentby = await pool.fetch(
        """SELECT attname FROM timescaledb_information.compression_settings
           WHERE hypertable_name = 'readings' AND segmentby_column_index IS NOT NULL
           ORDER BY segmentby_column_index"""
    )
    assert [r["attname"] for r in segmentby] == ["device_id", "sensor_type"]
    jobs = {
        r["proc_name"]: r["config"]
        for r in await pool.fetch(
            "SELECT proc_name, config FROM timescaledb_information.jobs WHERE proc_name LIKE 'policy_%'"
        )
    }
    assert jobs["policy_retention"]["drop_after"] == "400 days"
    assert "policy_compression" in jobs
    assert "policy_refresh_continuous_aggregate" in jobs
    cagg = await pool.fetchrow(
        """SELECT materialized_only FROM timescaledb_information.continuous_aggregates
           WHERE view_name = 'readings_hourly'"""
    )
    assert cagg is not None
    assert cagg["materialized_only"] is False  # real-time: recent readings show at once


async def test_ingest_dedup_outbox_and_latest_on_a_hypertable(
    ts_server: LiveServer, ts_token: str
) -> None:
    live = ts_server
    (device,) = await provision(live.client, ts_token, batch="ts")
    batch = {
        "latitude": 1.5,
        "longitude": 2.5,
        "readings": [
            {"sensor_type": "temperature", "value": 20 + i, "timestamp": minutes_ago(i)}
            for i in range(1, 6)
        ],
    }
    first = await post_batch(live.client, device["api_key"], batch)
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] == 5
    again = (await post_batch(live.client, device["api_key"], batch)).json()
    assert (again["accepted"], again["duplicates"]) == (5, 5)
    assert len(await stored(live.services, device["device_id"])) == 5
    rows = await outbox(live.services, device["device_id"])
    assert [len(r["timestamps"]) for r in rows] == [5]
    latest = await live.services.pool.fetchval(
        "SELECT value FROM device_latest_readings WHERE device_id = $1", UUID(device["device_id"])
    )
    assert latest == 21.0
    position = await live.services.pool.fetchrow(
        "SELECT latitude, longitude FROM devices WHERE device_id = $1", UUID(device["device_id"])
    )
    assert (position["latitude"], position["longitude"]) == (1.5, 2.5)


async def test_hourly_buckets_come_from_the_continuous_aggregate(
    ts_server: LiveServer, ts_token: str
) -> None:
    live = ts_server
    (hub,) = await provision(live.client, ts_token, kind="hub", batch="ts")
    (sensor,) = await provision(live.client, ts_token, kind="zigbee_sensor", batch="ts")
    await pair_sensor(live.services, hub["device_id"], sensor["device_id"])
    base = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    readings = [
        {
            "sensor_type": "humidity",
            "value": float(40 + i),
            "timestamp": iso(base + timedelta(minutes=15 * i)),
            "sensor_id": sensor["device_id"],
        }
        for i in range(8)
    ]
    response = await post_batch(live.client, hub["api_key"], {"readings": readings})
    assert response.json()["accepted"] == 8
    # Materialise part of it; the rest is answered by real-time aggregation.
    await live.services.pool.execute(
        "CALL refresh_continuous_aggregate('readings_hourly', $1::timestamptz, $2::timestamptz)",
        base,
        base + timedelta(hours=1),
    )
    body = (
        await live.client.get(
            f"/admin/v1/devices/{hub['device_id']}/telemetry",
            params={
                "sensor_id": sensor["device_id"],
                "bucket": "1h",
                "from": iso(base - timedelta(hours=1)),
                "to": iso(base + timedelta(hours=3)),
            },
            headers=bearer(ts_token),
        )
    ).json()
    assert body["buckets"] == [
        {
            "start": iso(base),
            "sensor_type": "humidity",
            "count": 4,
            "avg": 41.5,
            "min": 40.0,
            "max": 43.0,
        },
        {
            "start": iso(base + timedelta(hours=1)),
            "sensor_type": "humidity",
            "count": 4,
            "avg": 45.5,
            "min": 44.0,
            "max": 47.0,
        },
    ]
    raw = (
        await live.client.get(
            f"/admin/v1/devices/{sensor['device_id']}/telemetry",
            params={"bucket": "30m", "from": iso(base), "to": iso(base + timedelta(hours=2))},
            headers=bearer(ts_token),
        )
    ).json()["buckets"]
    assert [b["count"] for b in raw] == [2, 2, 2, 2]


async def test_duplicates_are_caught_in_compressed_chunks(
    ts_server: LiveServer, ts_token: str
) -> None:
    live = ts_server
    (device,) = await provision(live.client, ts_token, batch="ts")
    old = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    batch: dict[str, Any] = {
        "readings": [{"sensor_type": "pressure", "value": 1000.0, "timestamp": iso(old)}]
    }
    assert (await post_batch(live.client, device["api_key"], batch)).json()["duplicates"] == 0
    compressed = await live.services.pool.fetch(
        "SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('readings', older_than => interval '20 days') c"
    )
    assert compressed
    again = (await post_batch(live.client, device["api_key"], batch)).json()
    assert (again["accepted"], again["duplicates"]) == (1, 1)
    batch["readings"].append(
        {"sensor_type": "pressure", "value": 1001.0, "timestamp": iso(old + timedelta(minutes=1))}
    )
    third = (await post_batch(live.client, device["api_key"], batch)).json()
    assert (third["accepted"], third["duplicates"]) == (2, 1)
    assert len(await stored(live.services, device["device_id"])) == 2


async def test_the_storage_job_applies_chunk_and_retention_settings(
    ts_server: LiveServer,
) -> None:
    live = ts_server
    settings = live.services.settings.with_overrides(partition_days=3, retention_days=30)
    async with live.services.pool.acquire() as conn, conn.transaction():
        await maintain(conn, settings)
    pool = live.services.pool
    interval = await pool.fetchval(
        """SELECT time_interval FROM timescaledb_information.dimensions
           WHERE hypertable_name = 'readings'"""
    )
    assert interval == timedelta(days=3)
    configs = {
        r["proc_name"]: r["config"]
        for r in await pool.fetch(
            """SELECT proc_name, config FROM timescaledb_information.jobs
               WHERE hypertable_name = 'readings'"""
        )
    }
    assert configs["policy_retention"]["drop_after"] == "30 days"
    assert configs["policy_compression"]["compress_after"] == "3 days"
    # A second round with the same settings changes nothing.
    async with live.services.pool.acquire() as conn, conn.transaction():
        await maintain(conn, settings)
    count = await pool.fetchval(
        "SELECT count(*) FROM timescaledb_information.jobs WHERE hypertable_name = 'readings'"
    )
    assert count == 2
