"""SQL for the device inventory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

DEFAULT_ENABLED_SENSORS = {
    "standalone": [
        "temperature",
        "humidity",
        "pressure",
        "power_availability",
        "battery_level",
        "signal_strength",
        "iaq",
    ],
    "hub": ["temperature", "humidity", "power_availability", "signal_strength"],
    "zigbee_sensor": ["temperature", "humidity", "battery_level"],
}

# A device is online while it has reported within three reporting intervals (the same rule
# the built-in `device_offline` alert uses).
_ONLINE_SQL = (
    "(d.last_seen_at IS NOT NULL AND d.last_seen_at >= now() - make_interval("
    "secs => 3 * coalesce(s.reporting_interval_seconds, 300)))"
)

_SUMMARY_COLUMNS = f"""
    d.device_id, d.serial_number, d.kind, d.model, d.batch, d.status, d.created_at,
    d.last_seen_at, d.firmware_version, d.hub_id, {_ONLINE_SQL} AS online, d.tags, d.label
"""


# The device list as CSV (`Accept: text/csv`): every value already text, as the CSV shows it.
CSV_HEADER = (
    "device_id",
    "serial_number",
    "kind",
    "model",
    "batch",
    "status",
    "online",
    "created_at",
    "last_seen_at",
    "firmware_version",
    "hub_id",
    "tags",
    "label",
)
CSV_COLUMNS = f"""
    d.device_id, d.serial_number, d.kind, d.model, d.batch, d.status,
    CASE WHEN {_ONLINE_SQL} THEN 'true' ELSE 'false' END,
    to_json(d.created_at) #>> '{{}}', to_json(d.last_seen_at) #>> '{{}}', d.firmware_version,
    d.hub_id, array_to_string(d.tags, ' '), d.label
"""


@dataclass(frozen=True, slots=True)
class NewDevice:
    device_id: UUID
    serial_number: str
    key_hash: bytes


@dataclass(frozen=True, slots=True)
class Device:
    """A row of the device list (`DeviceSummary` reads these attributes)."""

    device_id: UUID
    serial_number: str
    kind: str
    model: str
    batch: str
    status: str
    online: bool
    created_at: datetime
    last_seen_at: datetime | None
    firmware_version: str | None
    hub_id: UUID | None  # for a Zigbee sensor, its hub
    tags: tuple[str, ...]
    label: str | None


@dataclass(frozen=True, slots=True)
class DeviceRecord(Device):
    """One device with its position, pairing and settings versions (never its key hash)."""

    latitude: float | None
    longitude: float | None
    position_at: datetime | None
    ieee_address: str | None
    paired_at: datetime | None
    hub_serial_number: str | None
    settings_version: int | None
    applied_settings_version: int | None


@dataclass(frozen=True, slots=True)
class LatestReading:
    """The latest value of one sensor of a device."""

    sensor_type: str
    value: float
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class PairedSensor:
    """A Zigbee sensor paired to a hub, as the hub's device detail lists it."""

    sensor_id: UUID
    serial_number: str
    ieee_address: str | None
    last_seen_at: datetime | None
    paired_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """What `update_device` changed: whether the device moved to another batch, and its key
    hash (None once revoked) so a move can drop its cached principal."""

    key_hash: bytes | None
    moved: bool


@dataclass(frozen=True, slots=True)
class FleetCounts:
    """Active devices, and how many of them are online (the dashboard's header)."""

    total: int
    online: int

    @property
    def offline(self) -> int:
        return self.total - self.online


def _device_fields(row: asyncpg.Record) -> dict[str, Any]:
    """A list row's columns, as `Device` takes them (shared with `DeviceRecord`)."""
    return {
        "device_id": row["device_id"],
        "serial_number": row["serial_number"],
        "kind": row["kind"],
        "model": row["model"],
        "batch": row["batch"],
        "status": row["status"],
        "online": row["online"],
        "created_at": row["created_at"],
        "last_seen_at": row["last_seen_at"],
        "firmware_version": row["firmware_version"],
        "hub_id": row["hub_id"],
        "tags": tuple(row["tags"]),
        "label": row["label"],
    }


def _device(row: asyncpg.Record) -> Device:
    return Device(**_device_fields(row))


def _device_record(row: asyncpg.Record) -> DeviceRecord:
    return DeviceRecord(
        **_device_fields(row),
        latitude=row["latitude"],
        longitude=row["longitude"],
        position_at=row["position_at"],
        ieee_address=row["ieee_address"],
        paired_at=row["paired_at"],
        hub_serial_number=row["hub_serial_number"],
        settings_version=row["settings_version"],
        applied_settings_version=row["applied_settings_version"],
    )


async def next_serial_numbers(conn: asyncpg.Connection, count: int) -> list[int]:
    rows = await conn.fetch(
        "SELECT nextval('device_serial_seq') AS n FROM generate_series(1, $1)", count
    )
    return [row["n"] for row in rows]


async def insert_devices(
    conn: asyncpg.Connection, kind: str, model: str, batch: str, devices: list[NewDevice]
) -> None:
    await conn.execute(
        """INSERT INTO devices (device_id, serial_number, kind, model, batch, key_hash)
           SELECT id, serial, $4, $5, $6, key_hash
           FROM unnest($1::uuid[], $2::text[], $3::bytea[]) AS t(id, serial, key_hash)""",
        [d.device_id for d in devices],
        [d.serial_number for d in devices],
        [d.key_hash for d in devices],
        kind,
        model,
        batch,
    )
    # Per-model defaults (model_settings_defaults, migration 0020) win over the built-in ones.
    await conn.execute(
        """INSERT INTO device_settings
               (device_id, enabled_sensors, reporting_interval_seconds, location, timezone)
           SELECT t.id, coalesce(m.enabled_sensors, $2::text[]),
                  coalesce(m.reporting_interval_seconds, 300), m.location,
                  coalesce(m.timezone, 'UTC')
           FROM unnest($1::uuid[]) AS t(id)
           LEFT JOIN model_settings_defaults m ON m.model = $3""",
        [d.device_id for d in devices],
        DEFAULT_ENABLED_SENSORS[kind],
        model,
    )


def list_query(
    *,
    batch: str | None,
    kind: str | None,
    online: bool | None,
    model: str | None,
    tags: Sequence[str] = (),
    label: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
    columns: str = _SUMMARY_COLUMNS,
) -> tuple[str, list[Any]]:
    """The device list's query and its arguments (a page of it, or all of it for an export)."""
    conditions = ["true"]
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if batch is not None:
        conditions.append(f"d.batch = {arg(batch)}")
    if kind is not None:
        conditions.append(f"d.kind = {arg(kind)}")
    if model is not None:
        conditions.append(f"d.model = {arg(model)}")
    if tags:
        conditions.append(f"d.tags @> {arg(list(tags))}::text[]")
    if label is not None:
        conditions.append(f"d.label = {arg(label)}")
    if online is not None:
        conditions.append(_ONLINE_SQL if online else f"NOT {_ONLINE_SQL}")
    if after is not None:
        conditions.append(f"(d.created_at, d.serial_number) > ({arg(after[0])}, {arg(after[1])})")
    query = f"""SELECT {columns}
                FROM devices d LEFT JOIN device_settings s USING (device_id)
                WHERE {" AND ".join(conditions)}
                ORDER BY d.created_at, d.serial_number"""
    if limit is not None:
        query += f" LIMIT {arg(limit)}"
    return query, args


async def list_devices(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    batch: str | None,
    kind: str | None,
    online: bool | None,
    model: str | None,
    tags: Sequence[str] = (),
    label: str | None = None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Device]:
    query, args = list_query(
        batch=batch,
        kind=kind,
        online=online,
        model=model,
        tags=tags,
        label=label,
        after=after,
        limit=limit,
    )
    return [_device(row) for row in await conn.fetch(query, *args)]


async def update_device(
    conn: asyncpg.Connection,
    device_id: UUID,
    *,
    tags: list[str] | None,
    label: str | None,
    set_label: bool,
    batch: str | None,
) -> DeviceChange | None:
    """Change the given fields; None when there is no such device."""
    row = await conn.fetchrow(
        """UPDATE devices d
           SET tags = coalesce($2::text[], d.tags),
               label = CASE WHEN $3 THEN $4 ELSE d.label END,
               batch = coalesce($5, d.batch)
           FROM (SELECT device_id, batch FROM devices WHERE device_id = $1 FOR UPDATE) old
           WHERE d.device_id = old.device_id
           RETURNING d.key_hash, d.batch IS DISTINCT FROM old.batch AS moved""",
        device_id,
        tags,
        set_label,
        label,
        batch,
    )
    return None if row is None else DeviceChange(key_hash=row["key_hash"], moved=row["moved"])


async def retag(
    conn: asyncpg.Connection,
    selector_sql: str,
    args: list[Any],
    add: list[str],
    remove: list[str],
) -> int:
    """Add and remove tags on every device matching `selector_sql` (one statement); how many
    devices matched. Tags are kept sorted."""
    n = len(args)
    status: str = await conn.execute(
        f"""UPDATE devices d
            SET tags = ARRAY(
                SELECT DISTINCT t FROM unnest(d.tags || ${n + 1}::text[]) AS u(t)
                WHERE t <> ALL(${n + 2}::text[]) ORDER BY t)
            WHERE {selector_sql}""",
        *args,
        add,
        remove,
        timeout=300,  # one statement over possibly the whole fleet
    )
    return int(status.rsplit(" ", 1)[-1])


async def get_device(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID
) -> DeviceRecord | None:
    row = await conn.fetchrow(
        f"""SELECT {_SUMMARY_COLUMNS}, d.latitude, d.longitude, d.position_at, d.ieee_address,
                   d.paired_at, h.serial_number AS hub_serial_number,
                   s.version AS settings_version,
                   s.applied_version AS applied_settings_version
            FROM devices d LEFT JOIN device_settings s USING (device_id)
                 LEFT JOIN devices h ON h.device_id = d.hub_id
            WHERE d.device_id = $1""",
        device_id,
    )
    return None if row is None else _device_record(row)


async def latest_readings(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID
) -> list[LatestReading]:
    rows = await conn.fetch(
        """SELECT t.name AS sensor_type, l.value, l.ts
           FROM device_latest_readings l JOIN sensor_types t ON t.code = l.sensor_type
           WHERE l.device_id = $1 ORDER BY t.code""",
        device_id,
    )
    return [
        LatestReading(sensor_type=row["sensor_type"], value=row["value"], timestamp=row["ts"])
        for row in rows
    ]


async def hub_sensors(conn: asyncpg.Pool | asyncpg.Connection, hub_id: UUID) -> list[PairedSensor]:
    rows = await conn.fetch(
        """SELECT device_id AS sensor_id, serial_number, ieee_address, last_seen_at, paired_at
           FROM devices WHERE hub_id = $1 ORDER BY paired_at, device_id""",
        hub_id,
    )
    return [
        PairedSensor(
            sensor_id=row["sensor_id"],
            serial_number=row["serial_number"],
            ieee_address=row["ieee_address"],
            last_seen_at=row["last_seen_at"],
            paired_at=row["paired_at"],
        )
        for row in rows
    ]


async def revoke(conn: asyncpg.Connection, device_id: UUID) -> bytes | None:
    """Revoke the device's key; return the old key hash (None if there was none)."""
    row = await conn.fetchrow(
        """UPDATE devices d SET status = 'revoked', revoked_at = now(), key_hash = NULL
           FROM (SELECT device_id, key_hash FROM devices WHERE device_id = $1 FOR UPDATE) old
           WHERE d.device_id = old.device_id
           RETURNING old.key_hash""",
        device_id,
    )
    return None if row is None else row["key_hash"]


async def replace_key(conn: asyncpg.Connection, device_id: UUID, new_hash: bytes) -> bytes | None:
    """Give the device a new key hash (reactivating a revoked device); return the old hash."""
    row = await conn.fetchrow(
        """UPDATE devices d SET key_hash = $2, status = 'active', revoked_at = NULL
           FROM (SELECT device_id, key_hash FROM devices WHERE device_id = $1 FOR UPDATE) old
           WHERE d.device_id = old.device_id AND d.status <> 'decommissioned'
           RETURNING old.key_hash""",
        device_id,
        new_hash,
    )
    return None if row is None else (row["key_hash"] or b"")


async def fleet_counts(conn: asyncpg.Pool | asyncpg.Connection) -> FleetCounts:
    """How many active devices there are, and how many of them are online (dashboard)."""
    row = await conn.fetchrow(
        f"""SELECT count(*) AS total, count(*) FILTER (WHERE {_ONLINE_SQL}) AS online
            FROM devices d LEFT JOIN device_settings s USING (device_id)
            WHERE d.status = 'active'"""
    )
    return FleetCounts(total=row["total"], online=row["online"])
