"""SQL for device settings and the per-model defaults new devices start with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from climasense.device_settings.document import Location, Settings, SettingsDocument

_DOCUMENT_COLUMNS = "reporting_interval_seconds, enabled_sensors, location, timezone, version"
_DEFAULT_FIELDS = ("reporting_interval_seconds", "enabled_sensors", "location", "timezone")
_DEFAULTS_COLUMNS = (
    "model, reporting_interval_seconds, enabled_sensors, location, timezone, updated_at"
)


@dataclass(frozen=True, slots=True)
class LockedSettings:
    """A device's settings row, locked for a change, with the device's kind."""

    document: SettingsDocument
    kind: str


@dataclass(frozen=True, slots=True)
class ModelDefaults:
    """The settings devices of a model are provisioned with; a None field falls back to the
    built-in default."""

    model: str
    reporting_interval_seconds: int | None
    enabled_sensors: tuple[str, ...] | None
    location: Location | None
    timezone: str | None
    updated_at: datetime


def _location(value: dict[str, object] | None) -> Location | None:
    # jsonb, decoded by the pool's codec: the object `document.merge_patch` checked.
    return None if value is None else Location.from_json(value)


def _document(row: asyncpg.Record) -> SettingsDocument:
    return SettingsDocument(
        settings=Settings(
            reporting_interval_seconds=row["reporting_interval_seconds"],
            enabled_sensors=tuple(row["enabled_sensors"]),
            location=_location(row["location"]),
            timezone=row["timezone"],
        ),
        version=row["version"],
    )


def _defaults(row: asyncpg.Record) -> ModelDefaults:
    sensors = row["enabled_sensors"]
    return ModelDefaults(
        model=row["model"],
        reporting_interval_seconds=row["reporting_interval_seconds"],
        enabled_sensors=None if sensors is None else tuple(sensors),
        location=_location(row["location"]),
        timezone=row["timezone"],
        updated_at=row["updated_at"],
    )


async def get_settings(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID
) -> SettingsDocument | None:
    row = await conn.fetchrow(
        f"SELECT {_DOCUMENT_COLUMNS} FROM device_settings WHERE device_id = $1", device_id
    )
    return None if row is None else _document(row)


async def lock_settings(conn: asyncpg.Connection, device_id: UUID) -> LockedSettings | None:
    """The current settings, locked until the transaction ends: concurrent changes queue up
    here, so each one compares `If-Match` with the version the previous one wrote."""
    row = await conn.fetchrow(
        f"""SELECT {_DOCUMENT_COLUMNS}, d.kind
            FROM device_settings s JOIN devices d USING (device_id)
            WHERE s.device_id = $1 FOR UPDATE OF s""",
        device_id,
    )
    return None if row is None else LockedSettings(document=_document(row), kind=row["kind"])


async def write_settings(
    conn: asyncpg.Connection,
    device_id: UUID,
    settings: Settings,
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
        settings.reporting_interval_seconds,
        list(settings.enabled_sensors),
        None if settings.location is None else settings.location.as_json(),
        settings.timezone,
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
) -> ModelDefaults | None:
    row = await conn.fetchrow(
        f"SELECT {_DEFAULTS_COLUMNS} FROM model_settings_defaults WHERE model = $1", model
    )
    return None if row is None else _defaults(row)


async def put_model_defaults(
    conn: asyncpg.Pool | asyncpg.Connection,
    model: str,
    settings: Settings,
    given: frozenset[str],
) -> ModelDefaults:
    """Store the fields of `settings` named in `given`; the others are NULL (built-in)."""
    defaults = settings.as_json()
    row = await conn.fetchrow(
        f"""INSERT INTO model_settings_defaults
               (model, reporting_interval_seconds, enabled_sensors, location, timezone)
           VALUES ($1, $2, $3::text[], $4, $5)
           ON CONFLICT (model) DO UPDATE
           SET reporting_interval_seconds = EXCLUDED.reporting_interval_seconds,
               enabled_sensors = EXCLUDED.enabled_sensors, location = EXCLUDED.location,
               timezone = EXCLUDED.timezone, updated_at = now()
           RETURNING {_DEFAULTS_COLUMNS}""",
        model,
        *(defaults[key] if key in given else None for key in _DEFAULT_FIELDS),
    )
    return _defaults(row)


async def delete_model_defaults(conn: asyncpg.Pool | asyncpg.Connection, model: str) -> bool:
    status: str = await conn.execute("DELETE FROM model_settings_defaults WHERE model = $1", model)
    return status.endswith(" 1")
