"""Device inventory rules: provisioning, detail, revocation and key rotation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg

from climasense.alerts import service as alerts_service
from climasense.alerts.repository import Alert
from climasense.audit import Actor, record_audit
from climasense.auth import repository as credentials
from climasense.auth.keys import KeyHasher, KeyKind, generate_key
from climasense.devices import repository
from climasense.devices.repository import (
    Device,
    DeviceRecord,
    LatestReading,
    NewDevice,
    PairedSensor,
)
from climasense.errors import NotFound
from climasense.pagination import decode_cursor, encode_cursor

_SERIAL_PREFIX = {"standalone": "CS-ST", "hub": "CS-HB", "zigbee_sensor": "CS-ZB"}


@dataclass(frozen=True, slots=True)
class ProvisionedDevice:
    """A device just provisioned, with the key that exists nowhere else (`ProvisionedDevice` in
    schemas reads these attributes)."""

    device_id: UUID
    serial_number: str
    api_key: str
    kind: str
    model: str
    batch: str


@dataclass(frozen=True, slots=True)
class DeviceDetail(DeviceRecord):
    """A device with its latest reading per sensor, its unresolved alerts and, for a hub, its
    paired sensors (`schemas.DeviceDetail` reads these attributes)."""

    latest_readings: tuple[LatestReading, ...]
    open_alerts: tuple[Alert, ...]
    sensors: tuple[PairedSensor, ...]  # empty unless the device is a hub


def key_kind_for(device_kind: str) -> KeyKind:
    return KeyKind.SENSOR if device_kind == "zigbee_sensor" else KeyKind.DEVICE


async def provision(
    pool: asyncpg.Pool,
    hasher: KeyHasher,
    *,
    kind: str,
    model: str,
    batch: str,
    count: int,
    operator: Actor,
) -> list[ProvisionedDevice]:
    """Create `count` devices; the returned keys exist nowhere else."""
    key_kind = key_kind_for(kind)
    async with pool.acquire() as conn, conn.transaction():
        numbers = await repository.next_serial_numbers(conn, count)
        issued: list[tuple[NewDevice, str]] = []
        for number in numbers:
            key = generate_key(key_kind)
            serial = f"{_SERIAL_PREFIX[kind]}-{number:07d}"
            issued.append((NewDevice(uuid4(), serial, hasher.hash(key)), key))
        await repository.insert_devices(conn, kind, model, batch, [d for d, _ in issued])
        # One entry for the whole provisioning run (a batch of up to thousands of devices).
        await record_audit(
            conn,
            operator,
            "device.provision",
            "batch",
            batch,
            {
                "kind": kind,
                "model": model,
                "count": count,
                "first_serial_number": issued[0][0].serial_number if issued else None,
                "last_serial_number": issued[-1][0].serial_number if issued else None,
            },
        )
    return [
        ProvisionedDevice(
            device_id=device.device_id,
            serial_number=device.serial_number,
            api_key=key,
            kind=kind,
            model=model,
            batch=batch,
        )
        for device, key in issued
    ]


async def list_devices(
    pool: asyncpg.Pool,
    *,
    batch: str | None,
    kind: str | None,
    online: bool | None,
    model: str | None,
    cursor: str | None,
    limit: int,
    tags: list[str] | None = None,
    label: str | None = None,
) -> tuple[list[Device], str | None]:
    """Devices oldest first, and the cursor of the next page (None on the last)."""
    after = decode_cursor(cursor, str, kind="devices") if cursor else None
    devices = await repository.list_devices(
        pool,
        batch=batch,
        kind=kind,
        online=online,
        model=model,
        tags=tags or (),
        label=label,
        after=after,
        limit=limit + 1,
    )
    if len(devices) <= limit:
        return devices, None
    last = devices[limit - 1]
    return devices[:limit], encode_cursor(last.created_at, last.serial_number, kind="devices")


async def device_detail(pool: asyncpg.Pool, device_id: UUID) -> DeviceDetail:
    device = await repository.get_device(pool, device_id)
    if device is None:
        raise NotFound("Device not found")
    sensors = await repository.hub_sensors(pool, device_id) if device.kind == "hub" else []
    return DeviceDetail(
        **{field.name: getattr(device, field.name) for field in dataclasses.fields(device)},
        latest_readings=tuple(await repository.latest_readings(pool, device_id)),
        open_alerts=tuple(await alerts_service.unresolved_for_device(pool, device_id)),
        sensors=tuple(sensors),
    )


async def revoke(pool: asyncpg.Pool, device_id: UUID, *, operator: Actor) -> None:
    async with pool.acquire() as conn, conn.transaction():
        old_hash = await repository.revoke(conn, device_id)
        if old_hash is None and not await conn.fetchval(
            "SELECT true FROM devices WHERE device_id = $1", device_id
        ):
            raise NotFound("Device not found")
        if old_hash:
            await credentials.record_credential_event(conn, old_hash)
        await record_audit(conn, operator, "device.revoke", "device", device_id)


async def rotate_key(
    pool: asyncpg.Pool, hasher: KeyHasher, device_id: UUID, *, operator: Actor
) -> str:
    async with pool.acquire() as conn, conn.transaction():
        kind = await conn.fetchval("SELECT kind FROM devices WHERE device_id = $1", device_id)
        if kind is None:
            raise NotFound("Device not found")
        key = generate_key(key_kind_for(kind))
        old_hash = await repository.replace_key(conn, device_id, hasher.hash(key))
        if old_hash is None:
            raise NotFound("Device not found")
        if old_hash:
            await credentials.record_credential_event(conn, old_hash)
        await record_audit(conn, operator, "device.rotate_key", "device", device_id)
    return key
