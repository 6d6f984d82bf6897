"""The few reads the dashboard makes straight from the database, where the operator API has
no equivalent: fleet-wide counts and the battery/signal column of the fleet table (one query
per page instead of one device-detail call per row)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from climasense.audit import repository as audit
from climasense.devices import repository as devices


async def fleet_counts(pool: asyncpg.Pool) -> dict[str, int]:
    # A dict still: `web.data.fleet_counts` adds the alerting count to it for the page.
    counts = await devices.fleet_counts(pool)
    return {"total": counts.total, "online": counts.online, "offline": counts.offline}


async def latest_values(
    pool: asyncpg.Pool, device_ids: list[UUID], sensor_types: list[str]
) -> dict[UUID, dict[str, float]]:
    """`{device_id: {sensor_type: value}}` from `device_latest_readings`."""
    if not device_ids:
        return {}
    rows = await pool.fetch(
        """SELECT l.device_id, t.name AS sensor_type, l.value
           FROM device_latest_readings l JOIN sensor_types t ON t.code = l.sensor_type
           WHERE l.device_id = ANY($1::uuid[]) AND t.name = ANY($2::text[])""",
        device_ids,
        sensor_types,
    )
    found: dict[UUID, dict[str, float]] = {}
    for row in rows:
        found.setdefault(row["device_id"], {})[row["sensor_type"]] = row["value"]
    return found


async def serial_numbers(pool: asyncpg.Pool, device_ids: list[UUID]) -> dict[str, str]:
    """`{device_id: serial_number}`, to label alerts with something a person recognises."""
    if not device_ids:
        return {}
    rows = await pool.fetch(
        "SELECT device_id, serial_number FROM devices WHERE device_id = ANY($1::uuid[])",
        device_ids,
    )
    return {str(row["device_id"]): row["serial_number"] for row in rows}


async def authors(pool: asyncpg.Pool, action: str, target_ids: list[str]) -> dict[str, str]:
    """Who made each change (from the audit trail): shown beside commands, settings and
    releases to every role, though only admins may read the audit trail itself."""
    return await audit.latest_actors(pool, action, target_ids)
