"""Pairing rules: which keys register, who wins a race, how many sensors a hub may hold."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from climasense.auth.keys import KeyHasher, KeyKind, parse_key
from climasense.errors import Conflict, NotFound, ValidationFailed
from climasense.hub import repository
from climasense.hub.repository import PairedSensor
from climasense.hub.schemas import SensorRegistration
from climasense.pagination import decode_cursor, split_page

# A decision is re-taken when a conditional write finds the state changed under it; after a
# change the next read sees a paired sensor and answers, so two rounds settle any race.
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Registered:
    sensor_id: UUID
    serial_number: str
    created: bool  # False: it was already paired to this hub


def invalid_sensor_key() -> ValidationFailed:
    # One answer for every kind of wrong key (unknown, revoked, a hub's or a standalone
    # device's): the caller learns nothing about keys it does not hold.
    return ValidationFailed(
        "sensor_api_key is not a pre-provisioned Zigbee sensor key",
        code="invalid_sensor_key",
        details=[{"field": "sensor_api_key", "message": "not a Zigbee sensor key"}],
    )


async def register_sensor(
    pool: asyncpg.Pool,
    hasher: KeyHasher,
    *,
    hub_id: UUID,
    registration: SensorRegistration,
    max_sensors: int,
) -> Registered:
    """Pair the sensor holding `registration.sensor_api_key` to the hub."""
    if parse_key(registration.sensor_api_key) is not KeyKind.SENSOR:
        raise invalid_sensor_key()
    key_hash = hasher.hash(registration.sensor_api_key)
    ieee = registration.ieee_address
    async with pool.acquire() as conn, conn.transaction():
        for _ in range(_ATTEMPTS):
            sensor = await repository.find_sensor_by_key_hash(conn, key_hash)
            if sensor is None:
                raise invalid_sensor_key()
            sensor_id, serial = sensor.sensor_id, sensor.serial_number
            if sensor.hub_id == hub_id:
                # Registering again is how a hub re-syncs after a reset; an omitted IEEE
                # address keeps the one on record.
                if ieee is None or await repository.update_ieee_address(
                    conn, sensor_id=sensor_id, hub_id=hub_id, ieee_address=ieee
                ):
                    return Registered(sensor_id, serial, created=False)
                continue
            if sensor.hub_id is not None:
                raise Conflict(
                    "This sensor is registered to another hub; that hub must unpair it first",
                    code="sensor_already_registered",
                )
            await repository.lock_hub_pairings(conn, hub_id)
            if await repository.count_sensors(conn, hub_id) >= max_sensors:
                raise Conflict(
                    f"This hub already has the maximum of {max_sensors} sensors; "
                    "unpair one before registering another",
                    code="hub_sensor_limit",
                )
            if await repository.claim_sensor(
                conn, sensor_id=sensor_id, key_hash=key_hash, hub_id=hub_id, ieee_address=ieee
            ):
                return Registered(sensor_id, serial, created=True)
    raise Conflict("The sensor's pairing changed during registration; retry")


async def list_sensors(
    pool: asyncpg.Pool, hub_id: UUID, *, cursor: str | None, page_size: int
) -> tuple[list[PairedSensor], str | None]:
    """The hub's sensors in pairing order, a page at a time."""
    after = decode_cursor(cursor, UUID, kind="hub_sensors") if cursor is not None else None
    sensors = await repository.list_sensors(pool, hub_id, after=after, limit=page_size + 1)
    return split_page(sensors, page_size, lambda s: (s.paired_at, s.sensor_id), kind="hub_sensors")


async def unpair_sensor(pool: asyncpg.Pool, hub_id: UUID, sensor_id: UUID) -> None:
    if not await repository.unpair_sensor(pool, hub_id, sensor_id):
        raise NotFound("Sensor not found")
