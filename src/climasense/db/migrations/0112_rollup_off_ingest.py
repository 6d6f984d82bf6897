"""Plain PostgreSQL: hourly rollups leave the ingest statement (a real-time rollup).

Until now every group commit also upserted its series' current-hour row of `readings_hourly`,
about a quarter of the ingest statement's PostgreSQL time (docs/performance.md). Now the
rollup works as TimescaleDB's real-time continuous aggregate does:

- `rollup_state.materialized_until`: `readings_hourly` holds every hour before it; queries add
  the hours from it onward from `readings` itself (`telemetry.repository.rollup_buckets`).
- The `telemetry-rollup` job moves it forward to the current hour and materializes the hours
  in between (`telemetry.rollup`).
- A reading older than `rollup_state.invalidate_below` (a late or backfilled one) has its hour
  recorded in `rollup_invalidations` by the same ingest statement; queries read such hours
  from `readings` until the job has recomputed their rows.

Exactness across the job moving the threshold: the ingest statement reads
`invalidate_below` through `rollup_invalidate_below()`, which first takes a shared advisory
lock held to the end of the ingest transaction, then reads with a fresh snapshot (a VOLATILE
function in READ COMMITTED). `rollup_advance_threshold` takes the same lock exclusively, so
it waits for ingest transactions that have already read the old threshold to commit (their
readings are then visible to the materialization that follows), and every later one reads
the new threshold. The lock is taken once per ingest statement, not per reading, and before
the statement locks any row (in its first CTE): an ingest waiting for it holds no row
another ingest could be waiting for, so no wait cycle can form through the job.

`readings_hourly` goes back to fill factor 100: its rows are now written once per series and
hour, not updated by every report (migration 0110 had made room for those updates).

TimescaleDB keeps its continuous aggregate; there `materialized_until` is `infinity`, so the
same query reads only `readings_hourly`.
"""

from __future__ import annotations

import asyncpg

# pg_advisory_xact_lock keys are bigint; this one is ours alone (crc32 of "climasense-rollup").
LOCK_KEY = 2_251_526_997


async def apply(conn: asyncpg.Connection) -> None:
    timescale = await conn.fetchval("SELECT engine FROM storage_info") == "timescaledb"
    await conn.execute(
        """CREATE TABLE rollup_state (
               singleton          boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
               invalidate_below   timestamptz NOT NULL,
               materialized_until timestamptz NOT NULL)"""
    )
    # Rollups so far were exact up to the last committed reading: the current hour's rows,
    # still being filled, are recomputed from `readings` when the job first moves past it.
    start = "'infinity'" if timescale else "date_trunc('hour', now(), 'UTC')"
    await conn.execute(f"INSERT INTO rollup_state VALUES (true, {start}, {start})")
    await conn.execute(
        """CREATE TABLE rollup_invalidations (
               device_id   uuid        NOT NULL,
               sensor_type smallint    NOT NULL,
               bucket      timestamptz NOT NULL,
               PRIMARY KEY (device_id, sensor_type, bucket))"""
    )
    await conn.execute(
        f"""CREATE FUNCTION rollup_invalidate_below() RETURNS timestamptz
            LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock_shared({LOCK_KEY});
                RETURN (SELECT invalidate_below FROM rollup_state);
            END $$"""
    )
    await conn.execute(
        f"""CREATE FUNCTION rollup_advance_threshold(target timestamptz)
            RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                current timestamptz := (SELECT invalidate_below FROM rollup_state);
            BEGIN
                -- Only this function moves the threshold, and only forward: when it would not
                -- move, ingest is not held up by the exclusive lock (the job runs every
                -- minute, the threshold moves once an hour).
                IF target <= current THEN
                    RETURN current;
                END IF;
                PERFORM pg_advisory_xact_lock({LOCK_KEY});
                UPDATE rollup_state SET invalidate_below = greatest(invalidate_below, target);
                RETURN (SELECT invalidate_below FROM rollup_state);
            END $$"""
    )
    if not timescale:
        await conn.execute("ALTER TABLE readings_hourly SET (fillfactor = 100)")
