"""Device inventory rules: provisioning, detail, revocation and key rotation."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg

from climasense.alerts import service as alerts_service
from climasense.audit import Actor, record_audit
from climasense.auth import repository as credentials
from climasense.auth.keys import KeyHasher, KeyKind, generate_key
from climasense.devices import repository
from climasense.devices.repository import NewDevice
from climasense.errors import NotFound
from climasense.pagination import decode_cursor, split_page

_SERIAL_PREFIX = {"standalone": "CS-ST", "hub": "CS-HB", "zigbee_sensor": "CS-ZB"}


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
) -> list[dict[str, Any]]:
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
        {
            "device_id": device.device_id,
            "serial_number": device.serial_number,
            "api_key": key,
            "kind": kind,
            "model": model,
            "batch": batch,
        }
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
) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(cursor, str, kind="devices") if cursor else None
    rows = await repository.list_devices(
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
    page, next_cursor = split_page(rows, limit, "created_at", "serial_number", kind="devices")
    return [dict(row) for row in page], next_cursor


async def device_detail(pool: asyncpg.Pool, device_id: UUID) -> dict[str, Any]:
    row = await repository.get_device(pool, device_id)
    if row is None:
        raise NotFound("Device not found")
    detail = dict(row)
    detail.pop("key_hash", None)
    detail["latest_readings"] = [
        {"sensor_type": r["sensor_type"], "value": r["value"], "timestamp": r["ts"]}
        for r in await repository.latest_readings(pool, device_id)
    ]
    detail["open_alerts"] = [
        a.document() for a in await alerts_service.unresolved_for_device(pool, device_id)
    ]
    if row["kind"] == "hub":
        detail["sensors"] = [dict(r) for r in await repository.hub_sensors(pool, device_id)]
    return detail


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
