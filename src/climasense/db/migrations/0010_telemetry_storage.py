"""Telemetry storage around `readings` (0002), for whichever engine 0002 chose.

TimescaleDB: compression segmented by (device_id, sensor_type), a retention policy, and
`readings_hourly`, a real-time hourly continuous aggregate. The intervals here are the
defaults; the storage job (`telemetry.maintenance`) brings them in line with the settings.

Plain PostgreSQL: `readings_hourly`, a table the ingest statement keeps exact, and
`reading_partitions`, the ledger of the range partitions the storage job creates ahead and
drops by retention.

Both `readings_hourly` have the same columns (count, sum, min, max per device, sensor type and
hour), so queries read either the same way.
"""

from __future__ import annotations

import asyncpg


async def apply(conn: asyncpg.Connection) -> None:
    engine = await conn.fetchval("SELECT engine FROM storage_info")
    if engine == "timescaledb":
        await _timescale(conn)
    else:
        await _partitioned(conn)


async def _timescale(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """ALTER TABLE readings SET (
               timescaledb.compress,
               timescaledb.compress_segmentby = 'device_id, sensor_type',
               timescaledb.compress_orderby = 'ts')"""
    )
    await conn.execute("SELECT add_compression_policy('readings', interval '7 days')")
    await conn.execute("SELECT add_retention_policy('readings', interval '400 days')")
    await conn.execute(
        """CREATE MATERIALIZED VIEW readings_hourly
           WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
           SELECT device_id, sensor_type, time_bucket(interval '1 hour', ts) AS bucket,
                  count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max
           FROM readings
           GROUP BY device_id, sensor_type, time_bucket(interval '1 hour', ts)
           WITH NO DATA"""
    )
    await conn.execute(
        """SELECT add_continuous_aggregate_policy('readings_hourly',
               start_offset => interval '100 days',
               end_offset => interval '1 hour',
               schedule_interval => interval '15 minutes')"""
    )


async def _partitioned(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """CREATE TABLE readings_hourly (
               device_id   uuid             NOT NULL,
               sensor_type smallint         NOT NULL,
               bucket      timestamptz      NOT NULL,
               count       bigint           NOT NULL,
               sum         double precision NOT NULL,
               min         double precision NOT NULL,
               max         double precision NOT NULL,
               PRIMARY KEY (device_id, sensor_type, bucket))"""
    )
    # Rows arrive roughly in time order: a BRIN index is tiny and lets retention find the
    # expired hours without scanning the table (it does not stop updates from being HOT).
    await conn.execute(
        "CREATE INDEX readings_hourly_bucket_brin ON readings_hourly USING brin (bucket)"
    )
    await conn.execute(
        """CREATE TABLE reading_partitions (
               name       text        PRIMARY KEY,
               lower      timestamptz NOT NULL,
               upper      timestamptz NOT NULL CHECK (upper > lower),
               created_at timestamptz NOT NULL DEFAULT now())"""
    )
