"""Telemetry as CSV (CONTRACT §11): one device's whole range, or the fleet's readings.

Both stream from a server-side cursor (`csv_export`), so the answer's size never shows in the
server's memory. A device's readings come oldest first; the fleet export is in storage order
(by time partition, not sorted), which keeps it a sequential scan however large the range.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from starlette.responses import StreamingResponse

from climasense.csv_export import csv_response, rfc3339
from climasense.devices import selectors
from climasense.telemetry import query

DEVICE_HEADER = ("timestamp", "sensor_type", "sensor_id", "value")
FLEET_HEADER = ("device_id", "serial_number", "sensor_id", "sensor_type", "timestamp", "value")


async def device_csv(
    pool: asyncpg.Pool,
    device_id: UUID,
    *,
    sensor_type: str | None,
    sensor_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
) -> StreamingResponse:
    codes = query.sensor_codes(sensor_type)
    reported = await query.subject_of(pool, device_id, sensor_id)  # 404s before streaming
    subject = sensor_id or device_id
    return await csv_response(
        pool,
        filename=f"telemetry-{device_id}.csv",
        header=DEVICE_HEADER,
        query=f"""SELECT {rfc3339("r.ts")}, t.name, $5::uuid, r.value
                 FROM readings r JOIN sensor_types t ON t.code = r.sensor_type
                 WHERE r.device_id = $1 AND r.sensor_type = ANY($2::int2[])
                   AND ($3::timestamptz IS NULL OR r.ts >= $3)
                   AND ($4::timestamptz IS NULL OR r.ts < $4)
                 ORDER BY r.ts, r.sensor_type""",
        args=[subject, codes, start, end, reported],
    )


async def fleet_csv(
    pool: asyncpg.Pool,
    *,
    sensor_type: str | None,
    start: datetime | None,
    end: datetime | None,
    batch: str | None,
    tags: Sequence[str],
) -> StreamingResponse:
    """Every reading in range, with the device that sent it (a hub, for its Zigbee sensors'
    readings, which name the sensor in `sensor_id`)."""
    codes = query.sensor_codes(sensor_type)
    tags = selectors.check_tags(list(tags), "tag")
    args: list[Any] = [codes, start, end]
    conditions = [
        "r.sensor_type = ANY($1::int2[])",
        "($2::timestamptz IS NULL OR r.ts >= $2)",
        "($3::timestamptz IS NULL OR r.ts < $3)",
    ]
    if batch is not None:
        args.append(batch)
        conditions.append(f"d.batch = ${len(args)}")
    if tags:
        args.append(tags)
        conditions.append(f"d.tags @> ${len(args)}::text[]")
    return await csv_response(
        pool,
        filename="telemetry.csv",
        header=FLEET_HEADER,
        query=f"""SELECT d.device_id, d.serial_number,
                         CASE WHEN r.hub_id IS NOT NULL THEN r.device_id END, t.name,
                         {rfc3339("r.ts")}, r.value
                  FROM readings r
                  JOIN devices d ON d.device_id = coalesce(r.hub_id, r.device_id)
                  JOIN sensor_types t ON t.code = r.sensor_type
                  WHERE {" AND ".join(conditions)}""",
        args=args,
    )
