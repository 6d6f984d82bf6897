"""Committed readings for alert tests, written by the production ingest statement (the one
the group-commit writer runs), so tests can place readings at exact timestamps and devices
without going through HTTP and rate limits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from climasense.alerts.rules import SENSOR_TYPE_CODES
from climasense.telemetry.repository import ingest_statement, storage_engine, write_group
from climasense.telemetry.writer import Submission, gather

ReadingSpec = tuple[str, datetime, float]  # (sensor type name, timestamp, value)


async def store_readings(
    pool: asyncpg.Pool, device_id: UUID | str, readings: Sequence[ReadingSpec]
) -> int:
    """Commit readings of one subject device (a Zigbee sensor's own id for its readings) with
    the production ingest statement (readings, outbox, latest values, last seen) — as
    `POST /v1/telemetry` does, without HTTP; return how many were new."""
    device = UUID(str(device_id))
    async with pool.acquire() as conn:
        hub_id = await conn.fetchval("SELECT hub_id FROM devices WHERE device_id = $1", device)
        submission = Submission(
            device_id=hub_id or device,
            subjects=[device] * len(readings),
            sensor_types=[SENSOR_TYPE_CODES[name] for name, _, _ in readings],
            timestamps=[ts for _, ts, _ in readings],
            values=[float(value) for _, _, value in readings],
            hub_ids=[hub_id] * len(readings),
            latitude=None,
            longitude=None,
            future=asyncio.get_running_loop().create_future(),
        )
        rows = gather([submission])
        statement = ingest_statement(await storage_engine(conn))
        for attempt in range(5):
            try:
                duplicates = await write_group(conn, statement, rows)
                break
            except asyncpg.exceptions.CheckViolationError:
                # The storage job attached the partition this reading was being routed to;
                # the writer retries the same way.
                if attempt == 4:
                    raise
                await asyncio.sleep(0.01)
    return len(readings) - len(duplicates) - rows.repeats[0]


async def pair_sensor(pool: asyncpg.Pool, hub_id: UUID | str, sensor_id: UUID | str) -> None:
    """Pair a sensor to a hub directly in the database (quicker than `POST /v1/hub/sensors`)."""
    await pool.execute(
        "UPDATE devices SET hub_id = $1, paired_at = now() WHERE device_id = $2",
        UUID(str(hub_id)),
        UUID(str(sensor_id)),
    )
