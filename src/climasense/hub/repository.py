"""SQL for hub ↔ sensor pairing. A pairing is the sensor's `devices.hub_id` (with its
`ieee_address` and `paired_at`); every statement that changes it is conditional on the state
it expects, so concurrent requests cannot both win."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

# Namespace of the two-key advisory locks taken per hub while pairing (the one-key form used by
# migrations and worker jobs is a separate lock space in PostgreSQL).
_PAIRING_LOCK_CLASS = 0x48554221  # "HUB!"

_SENSOR_COLUMNS = "device_id, serial_number, ieee_address, paired_at"


@dataclass(frozen=True, slots=True)
class SensorPairing:
    """An active Zigbee sensor found by its key, and the hub it is paired to (None: unpaired)."""

    sensor_id: UUID
    serial_number: str
    hub_id: UUID | None


@dataclass(frozen=True, slots=True)
class PairedSensor:
    """A sensor in a hub's list (`paired_at` orders the list and names its cursor)."""

    sensor_id: UUID
    serial_number: str
    ieee_address: str | None
    paired_at: datetime


def _paired_sensor(row: asyncpg.Record) -> PairedSensor:
    return PairedSensor(
        sensor_id=row["device_id"],
        serial_number=row["serial_number"],
        ieee_address=row["ieee_address"],
        paired_at=row["paired_at"],
    )


async def find_sensor_by_key_hash(
    conn: asyncpg.Connection, key_hash: bytes
) -> SensorPairing | None:
    """The active Zigbee sensor holding this key, with the hub it is paired to (if any)."""
    row = await conn.fetchrow(
        """SELECT device_id, serial_number, hub_id FROM devices
           WHERE key_hash = $1 AND status = 'active' AND kind = 'zigbee_sensor'""",
        key_hash,
    )
    if row is None:
        return None
    return SensorPairing(
        sensor_id=row["device_id"], serial_number=row["serial_number"], hub_id=row["hub_id"]
    )


async def lock_hub_pairings(conn: asyncpg.Connection, hub_id: UUID) -> None:
    """Serialise, until the transaction ends, every pairing that adds a sensor to this hub.

    An advisory lock rather than a row lock on the hub: telemetry updates the hub's and its
    sensors' rows, and locking the hub row here (then a sensor row) could deadlock with it.
    """
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))",
        _PAIRING_LOCK_CLASS,
        str(hub_id),
    )


async def count_sensors(conn: asyncpg.Connection, hub_id: UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM devices WHERE hub_id = $1", hub_id)
    return count


async def claim_sensor(
    conn: asyncpg.Connection,
    *,
    sensor_id: UUID,
    key_hash: bytes,
    hub_id: UUID,
    ieee_address: str | None,
) -> bool:
    """Pair an unpaired sensor to the hub; False if it is no longer unpaired (or its key
    changed or was revoked meanwhile)."""
    claimed = await conn.fetchval(
        """UPDATE devices SET hub_id = $3, ieee_address = $4, paired_at = now()
           WHERE device_id = $1 AND key_hash = $2 AND status = 'active' AND hub_id IS NULL
           RETURNING true""",
        sensor_id,
        key_hash,
        hub_id,
        ieee_address,
    )
    return bool(claimed)


async def update_ieee_address(
    conn: asyncpg.Connection, *, sensor_id: UUID, hub_id: UUID, ieee_address: str
) -> bool:
    """Record a new IEEE address for a sensor still paired to this hub."""
    updated = await conn.fetchval(
        """UPDATE devices SET ieee_address = $3 WHERE device_id = $1 AND hub_id = $2
           RETURNING true""",
        sensor_id,
        hub_id,
        ieee_address,
    )
    return bool(updated)


async def list_sensors(
    conn: asyncpg.Pool | asyncpg.Connection,
    hub_id: UUID,
    *,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[PairedSensor]:
    """The hub's sensors in pairing order (keyset pagination on `(paired_at, device_id)`)."""
    if after is None:
        rows = await conn.fetch(
            f"""SELECT {_SENSOR_COLUMNS} FROM devices WHERE hub_id = $1
                ORDER BY paired_at, device_id LIMIT $2""",
            hub_id,
            limit,
        )
    else:
        rows = await conn.fetch(
            f"""SELECT {_SENSOR_COLUMNS} FROM devices
                WHERE hub_id = $1 AND (paired_at, device_id) > ($2, $3)
                ORDER BY paired_at, device_id LIMIT $4""",
            hub_id,
            after[0],
            after[1],
            limit,
        )
    return [_paired_sensor(row) for row in rows]


async def unpair_sensor(
    conn: asyncpg.Pool | asyncpg.Connection, hub_id: UUID, sensor_id: UUID
) -> bool:
    """Unpair the sensor if it is paired to this hub; False otherwise (another hub's sensor
    and an unknown id alike). The IEEE address goes too: the next hub gives its own."""
    unpaired = await conn.fetchval(
        """UPDATE devices SET hub_id = NULL, ieee_address = NULL, paired_at = NULL
           WHERE device_id = $1 AND hub_id = $2
           RETURNING true""",
        sensor_id,
        hub_id,
    )
    return bool(unpaired)
