"""Settings rules: the document a device reads and (later) patches."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from climasense.device_settings import repository
from climasense.errors import NotFound


async def settings_document(pool: asyncpg.Pool, device_id: UUID) -> dict[str, Any]:
    row = await repository.get_settings(pool, device_id)
    if row is None:
        raise NotFound("Settings not found")
    return {
        "reporting_interval_seconds": row["reporting_interval_seconds"],
        "enabled_sensors": list(row["enabled_sensors"]),
        "location": row["location"],
        "timezone": row["timezone"],
        "version": row["version"],
    }
