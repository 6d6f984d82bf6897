"""The hourly rollup on plain PostgreSQL, materialized off the ingest path.

`readings_hourly` holds the count, sum, min and max of every series and hour before
`rollup_state.materialized_until`; queries add the later hours, and any hour a late reading
has invalidated, from `readings` (`repository.rollup_buckets`). This job, every
`INTERVAL_SECONDS` in one worker of the deployment, moves the threshold to the current hour
and materializes what lies before it, in three steps, each its own transaction:

1. `rollup_advance_threshold`: from now on, ingest records the hour of any reading older
   than the new threshold in `rollup_invalidations`. Taking the threshold lock exclusively
   waits for ingest transactions that read the old one (migration 0112 explains why that
   makes the next step exact).
2. Materialize [materialized_until, threshold) from `readings`, a day per transaction, and
   move `materialized_until` with it.
3. Recompute the invalidated hours below `materialized_until`, removing their invalidations
   in the same transaction.

A failure between steps leaves every answer exact (the queries read from `readings` whatever
is not materialized); the next round goes on from where this one stopped. TimescaleDB keeps
its own continuous aggregate: the job does nothing there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg

from climasense.background import PeriodicJob
from climasense.telemetry.repository import storage_engine

if TYPE_CHECKING:
    from climasense.services import Services

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60.0
# Step 2's transactions: a day of readings at most, so a job that was down for a while
# catches up in pieces instead of one long transaction.
MATERIALIZE_SPAN = timedelta(days=1)
# Step 3's transactions: this many invalidated hours at most.
RECOMPUTE_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class RollupRound:
    materialized_until: datetime
    hours_written: int
    hours_recomputed: int


async def materialize(pool: asyncpg.Pool, now: datetime | None = None) -> RollupRound:
    """One round of the job: threshold to the hour of `now` (the database's clock by
    default), then steps 2 and 3."""
    threshold = await pool.fetchval(
        """SELECT rollup_advance_threshold(
               date_trunc('hour', coalesce($1::timestamptz, now()), 'UTC'))""",
        now,
    )
    written = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            until = await conn.fetchval("SELECT materialized_until FROM rollup_state FOR UPDATE")
            if until >= threshold:
                break
            upper = min(threshold, until + MATERIALIZE_SPAN)
            written += await _write_hours(conn, until, upper)
            await conn.execute("UPDATE rollup_state SET materialized_until = $1", upper)
    recomputed = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            done = await _recompute_invalidated(conn)
        recomputed += done
        if done < RECOMPUTE_BATCH:
            break
    return RollupRound(until, written, recomputed)


# Both steps write whole hours computed from `readings`: a row already there is replaced, not
# added to (step 2 may find rows written by ingest before migration 0112, or by an older API
# process during a rolling upgrade; step 3 replaces the row a late reading made stale).
_REPLACE_HOURS = """INSERT INTO readings_hourly (device_id, sensor_type, bucket, count, sum, min, max)
    {rows}
    ON CONFLICT (device_id, sensor_type, bucket) DO UPDATE
    SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max"""


async def _write_hours(conn: asyncpg.Connection, lower: datetime, upper: datetime) -> int:
    status: str = await conn.execute(
        _REPLACE_HOURS.format(
            rows="""SELECT device_id, sensor_type, date_trunc('hour', ts, 'UTC'),
                  count(*), sum(value), min(value), max(value)
           FROM readings WHERE ts >= $1 AND ts < $2
           GROUP BY 1, 2, 3"""
        ),
        lower,
        upper,
    )
    return int(status.rsplit(" ", 1)[1])


async def _recompute_invalidated(conn: asyncpg.Connection) -> int:
    """Recompute up to RECOMPUTE_BATCH invalidated hours; return how many were taken."""
    taken: int = await conn.fetchval(
        f"""WITH gone AS (
               DELETE FROM rollup_invalidations
               WHERE (device_id, sensor_type, bucket) IN (
                   SELECT device_id, sensor_type, bucket FROM rollup_invalidations
                   WHERE bucket < (SELECT materialized_until FROM rollup_state)
                   LIMIT $1 FOR UPDATE SKIP LOCKED)
               RETURNING device_id, sensor_type, bucket),
           fresh AS (
               SELECT g.device_id, g.sensor_type, g.bucket,
                      count(*) AS count, sum(r.value) AS sum,
                      min(r.value) AS min, max(r.value) AS max
               FROM gone g JOIN readings r
                 ON r.device_id = g.device_id AND r.sensor_type = g.sensor_type
                AND r.ts >= g.bucket AND r.ts < g.bucket + interval '1 hour'
               GROUP BY 1, 2, 3),
           written AS ({_REPLACE_HOURS.format(rows="SELECT * FROM fresh")})
           SELECT count(*) FROM gone""",
        RECOMPUTE_BATCH,
    )
    return taken


async def _run(services: Services, conn: asyncpg.Connection) -> None:
    # `conn` holds the job's lock (one worker runs it); the steps need transactions of their
    # own, so they run on other connections of the pool.
    if await storage_engine(conn) == "timescaledb":
        return
    done = await materialize(services.pool)
    if done.hours_written or done.hours_recomputed:
        log.info(
            "hourly rollup: %s series-hours written, %s recomputed, materialized until %s",
            done.hours_written,
            done.hours_recomputed,
            done.materialized_until.isoformat(),
        )


PERIODIC_JOBS = (PeriodicJob("telemetry-rollup", INTERVAL_SECONDS, _run),)
