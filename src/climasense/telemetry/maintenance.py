"""The storage job: keeps `readings` partitioned, retained and rolled up per the settings.

Plain PostgreSQL: creates the partitions ahead (covering the backfill window), moves readings
that fell into the default partition, drops partitions past retention (see `partitions`).
TimescaleDB does that work itself; the job only brings its chunk interval, retention and
compression policies in line with the settings (so they stay configurable after migration).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg

from climasense.background import PeriodicJob
from climasense.settings import Settings
from climasense.telemetry import partitions, rollup
from climasense.telemetry.repository import storage_engine

if TYPE_CHECKING:
    from climasense.services import Services

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 600.0


async def maintain(
    conn: asyncpg.Connection, settings: Settings, now: datetime | None = None
) -> None:
    now = now or datetime.now(UTC)
    if await storage_engine(conn) == "timescaledb":
        await reconcile_timescale(conn, settings)
        return
    created = await partitions.ensure(
        conn,
        now,
        partition_days=settings.partition_days,
        backfill_days=settings.backfill_days,
        retention_days=settings.retention_days,
    )
    dropped = await partitions.drop_expired(conn, now, retention_days=settings.retention_days)
    if created or dropped:
        log.info("readings partitions: created %s, dropped %s", created, dropped)


async def reconcile_timescale(conn: asyncpg.Connection, settings: Settings) -> None:
    chunk = timedelta(days=settings.partition_days)
    retention = timedelta(days=settings.retention_days)
    await conn.execute("SELECT set_chunk_time_interval('readings', $1::interval)", chunk)
    await _ensure_policy(
        conn,
        "policy_retention",
        "drop_after",
        retention,
        "remove_retention_policy",
        "add_retention_policy",
    )
    # Chunks are compressed once they are a whole chunk interval old.
    await _ensure_policy(
        conn,
        "policy_compression",
        "compress_after",
        chunk,
        "remove_compression_policy",
        "add_compression_policy",
    )


async def _ensure_policy(
    conn: asyncpg.Connection,
    proc: str,
    key: str,
    wanted: timedelta,
    remove: str,
    add: str,
) -> None:
    current = await conn.fetchval(
        """SELECT (config->>$2)::interval FROM timescaledb_information.jobs
           WHERE proc_name = $1 AND hypertable_name = 'readings'""",
        proc,
        key,
    )
    if current == wanted:
        return
    await conn.execute(f"SELECT {remove}('readings', if_exists => true)")
    await conn.execute(f"SELECT {add}('readings', $1::interval)", wanted)
    log.info("readings %s set to %s", key, wanted)


async def _run(services: Services, conn: asyncpg.Connection) -> None:
    await maintain(conn, services.settings)


PERIODIC_JOBS = (PeriodicJob("telemetry-storage", INTERVAL_SECONDS, _run), *rollup.PERIODIC_JOBS)
