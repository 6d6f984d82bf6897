"""A test-side writer of committed readings, in the shape ingest writes them.

Until `POST /v1/telemetry` lands in this branch, alert tests store readings with this: one
transaction that inserts the readings (duplicates skipped), moves the device's `last_seen_at`,
and records the newly stored readings in `alert_outbox` (one row per subject device per
commit, shard = abs(hashtext(device_id::text)) % 64) — what ingest does in its own commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from climasense.alerts.rules import SENSOR_TYPE_CODES

ReadingSpec = tuple[str, datetime, float]  # (sensor type name, timestamp, value)


async def store_readings(
    pool: asyncpg.Pool, device_id: UUID | str, readings: Sequence[ReadingSpec]
) -> int:
    """Commit readings of one subject device (a Zigbee sensor's own id for its readings);
    return how many were new."""
    device = UUID(str(device_id))
    async with pool.acquire() as conn, conn.transaction():
        hub_id = await conn.fetchval("SELECT hub_id FROM devices WHERE device_id = $1", device)
        stored = await conn.fetch(
            """INSERT INTO readings (device_id, sensor_type, ts, value, hub_id)
               SELECT $1, st, ts, v, $5
               FROM unnest($2::smallint[], $3::timestamptz[], $4::float8[]) AS t(st, ts, v)
               ON CONFLICT DO NOTHING
               RETURNING sensor_type, ts, value""",
            device,
            [SENSOR_TYPE_CODES[name] for name, _, _ in readings],
            [ts for _, ts, _ in readings],
            [value for _, _, value in readings],
            hub_id,
        )
        await conn.execute(
            "UPDATE devices SET last_seen_at = now() WHERE device_id = ANY($1::uuid[])",
            [d for d in (device, hub_id) if d is not None],
        )
        if stored:
            await conn.execute(
                """INSERT INTO alert_outbox (device_id, shard, sensor_types, timestamps, "values")
                   VALUES ($1::uuid, abs(hashtext($1::uuid::text)) % 64, $2, $3, $4)""",
                device,
                [r["sensor_type"] for r in stored],
                [r["ts"] for r in stored],
                [r["value"] for r in stored],
            )
    return len(stored)


async def pair_sensor(pool: asyncpg.Pool, hub_id: UUID | str, sensor_id: UUID | str) -> None:
    """Test-side stand-in for hub pairing (`POST /v1/hub/sensors` is built elsewhere)."""
    await pool.execute(
        "UPDATE devices SET hub_id = $1, paired_at = now() WHERE device_id = $2",
        UUID(str(hub_id)),
        UUID(str(sensor_id)),
    )
