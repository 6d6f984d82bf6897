"""SQL for device settings."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def get_settings(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT reporting_interval_seconds, enabled_sensors, location, timezone, version
           FROM device_settings WHERE device_id = $1""",
        device_id,
    )
