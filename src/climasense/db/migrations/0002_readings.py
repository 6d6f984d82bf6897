"""The readings table: a TimescaleDB hypertable where the extension is available, else a
natively range-partitioned table whose partitions the worker creates ahead and drops by
retention.

A reading is identified by (device_id, sensor_type, ts): `device_id` is the subject that took
it — a standalone device, a hub, or a Zigbee sensor (whose `sensor_id` is its device id).
`sensor_type` is a small integer (see `climasense.sensor_types`), `hub_id` is set on
the readings a hub submitted for one of its sensors.
"""

from __future__ import annotations

import asyncpg

SENSOR_TYPES = [
    (1, "temperature"),
    (2, "humidity"),
    (3, "pressure"),
    (4, "power_availability"),
    (5, "battery_level"),
    (6, "signal_strength"),
    (7, "iaq"),
]

_COLUMNS = """
    device_id    uuid             NOT NULL,
    sensor_type  smallint         NOT NULL,
    ts           timestamptz      NOT NULL,
    value        double precision NOT NULL,
    hub_id       uuid,
    PRIMARY KEY (device_id, sensor_type, ts)
"""


async def timescale_available(conn: asyncpg.Connection) -> bool:
    found = await conn.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    )
    return bool(found)


async def apply(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """CREATE TABLE sensor_types (code smallint PRIMARY KEY, name text NOT NULL UNIQUE)"""
    )
    await conn.executemany("INSERT INTO sensor_types (code, name) VALUES ($1, $2)", SENSOR_TYPES)
    await conn.execute(
        """CREATE TABLE storage_info (
               singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
               engine text NOT NULL CHECK (engine IN ('timescaledb', 'partitioned')))"""
    )
    if await timescale_available(conn):
        await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        await conn.execute(f"CREATE TABLE readings ({_COLUMNS})")
        await conn.execute(
            "SELECT create_hypertable('readings', 'ts', chunk_time_interval => interval '7 days')"
        )
        engine = "timescaledb"
    else:
        await conn.execute(f"CREATE TABLE readings ({_COLUMNS}) PARTITION BY RANGE (ts)")
        # Catches anything outside the partitions made ahead (e.g. after a long outage of the
        # worker that creates them), so no reading is ever refused for want of a partition.
        await conn.execute("CREATE TABLE readings_default PARTITION OF readings DEFAULT")
        engine = "partitioned"
    await conn.execute("INSERT INTO storage_info (engine) VALUES ($1)", engine)
