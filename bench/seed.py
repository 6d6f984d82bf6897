"""The contents of a statement-level bench's fresh database: migrated, `count` standalone
devices, and the readings partitions the storage job keeps with default settings (without
them every reading lands in `readings_default`, which prices some statements wrongly).

`climasense` is imported when called, so it is whichever source tree is first on `sys.path`:
a bench comparing a baseline checkout seeds that checkout's schema."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg


@contextlib.asynccontextmanager
async def seeded_database(
    admin_url: str, devices: int
) -> AsyncIterator[tuple[asyncpg.Connection, list[uuid.UUID]]]:
    """A fresh database on the PostgreSQL at `admin_url`, seeded (`seed_devices`): a connection
    to it and the devices' ids. The database is dropped on the way out."""
    admin = await asyncpg.connect(admin_url)
    name = f"cs_bench_{secrets.token_hex(4)}"
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        conn = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + "/" + name)
        try:
            yield conn, await seed_devices(conn, devices)
        finally:
            await conn.close()
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def seed_devices(conn: asyncpg.Connection, count: int) -> list[uuid.UUID]:
    """Migrate, add `count` standalone devices (batch `bench`), create the partitions; return
    the devices' ids."""
    from climasense.db.migrate import migrate
    from climasense.settings import Settings
    from climasense.telemetry import partitions

    await migrate(conn)
    devices = [uuid.uuid4() for _ in range(count)]
    await conn.executemany(
        """INSERT INTO devices (device_id, serial_number, kind, model, batch)
           VALUES ($1, $2, 'standalone', 'CS-100', 'bench')""",
        [(d, f"CS-ST-{i:07d}") for i, d in enumerate(devices)],
    )
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    await partitions.ensure(
        conn,
        datetime.now(UTC),
        partition_days=defaults["partition_days"],
        backfill_days=defaults["backfill_days"],
        retention_days=defaults["retention_days"],
    )
    return devices
