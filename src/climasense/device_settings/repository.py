"""SQL for device settings and the per-model defaults new devices start with."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

_DOCUMENT_COLUMNS = "reporting_interval_seconds, enabled_sensors, location, timezone, version"


async def get_settings(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_DOCUMENT_COLUMNS} FROM device_settings WHERE device_id = $1", device_id
    )


async def lock_settings(conn: asyncpg.Connection, device_id: UUID) -> asyncpg.Record | None:
    """The current settings, locked until the transaction ends: concurrent changes queue up
    here, so each one compares `If-Match` with the version the previous one wrote."""
    return await conn.fetchrow(
        f"""SELECT {_DOCUMENT_COLUMNS}, d.kind
            FROM device_settings s JOIN devices d USING (device_id)
            WHERE s.device_id = $1 FOR UPDATE OF s""",
        device_id,
    )


async def write_settings(
    conn: asyncpg.Connection,
    device_id: UUID,
    document: dict[str, Any],
    *,
    applied_by_device: bool,
) -> int:
    """Store a changed document; return its new version (the old one + 1)."""
    version: int = await conn.fetchval(
        """UPDATE device_settings
           SET reporting_interval_seconds = $2, enabled_sensors = $3::text[], location = $4,
               timezone = $5, version = version + 1, updated_at = now(),
               applied_version = CASE WHEN $6 THEN version + 1 ELSE applied_version END
           WHERE device_id = $1
           RETURNING version""",
        device_id,
        document["reporting_interval_seconds"],
        document["enabled_sensors"],
        document["location"],
        document["timezone"],
        applied_by_device,
    )
    return version


async def record_applied_version(conn: asyncpg.Connection, device_id: UUID, version: int) -> None:
    # GREATEST: an old config_update acked late never moves the applied version backwards.
    await conn.execute(
        """UPDATE device_settings
           SET applied_version = GREATEST(coalesce(applied_version, 0), $2)
           WHERE device_id = $1""",
        device_id,
        version,
    )


async def get_model_defaults(
    conn: asyncpg.Pool | asyncpg.Connection, model: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT model, reporting_interval_seconds, enabled_sensors, location, timezone,
                  updated_at
           FROM model_settings_defaults WHERE model = $1""",
        model,
    )


async def put_model_defaults(
    conn: asyncpg.Pool | asyncpg.Connection, model: str, defaults: dict[str, Any]
) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO model_settings_defaults
               (model, reporting_interval_seconds, enabled_sensors, location, timezone)
           VALUES ($1, $2, $3::text[], $4, $5)
           ON CONFLICT (model) DO UPDATE
           SET reporting_interval_seconds = EXCLUDED.reporting_interval_seconds,
               enabled_sensors = EXCLUDED.enabled_sensors, location = EXCLUDED.location,
               timezone = EXCLUDED.timezone, updated_at = now()
           RETURNING model, reporting_interval_seconds, enabled_sensors, location, timezone,
                     updated_at""",
        model,
        defaults.get("reporting_interval_seconds"),
        defaults.get("enabled_sensors"),
        defaults.get("location"),
        defaults.get("timezone"),
    )


async def delete_model_defaults(conn: asyncpg.Pool | asyncpg.Connection, model: str) -> bool:
    status: str = await conn.execute("DELETE FROM model_settings_defaults WHERE model = $1", model)
    return status.endswith(" 1")
