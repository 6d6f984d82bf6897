"""A device's latest values (migration 0113: arrays in its `devices` row, merged by the ingest
statement's one update per device) are always the newest stored reading of each sensor type —
whatever order readings arrive in, several of a type in one group, late ones, retried ones —
through both statements the writer sends (new readings only, then the full one after a unique
violation)."""

from __future__ import annotations

import random
import time
import uuid

import asyncpg

from climasense.sensor_types import SENSOR_TYPES
from climasense.telemetry import repository
from climasense.telemetry.writer import GroupRows

CODES = [t.code for t in SENSOR_TYPES]


async def test_latest_values_are_the_newest_stored_reading_of_each_type(
    fresh_database_url: str,
) -> None:
    rng = random.Random(20261201)
    conn = await asyncpg.connect(fresh_database_url)
    try:
        devices = [uuid.uuid4() for _ in range(4)]
        await conn.executemany(
            """INSERT INTO devices (device_id, serial_number, kind, model, batch)
               VALUES ($1, $2, 'standalone', 'CS-100', 'latest')""",
            [(d, f"CS-LATEST-{i}") for i, d in enumerate(devices)],
        )
        engine = await repository.storage_engine(conn)
        new_only = repository.ingest_statement(engine, new_only=True)
        full = repository.ingest_statement(engine)
        base = (int(time.time()) - 600) * 1_000_000
        sent: list[tuple[uuid.UUID, int, int]] = []  # for retries
        fallbacks = 0
        for step in range(40):
            rows = GroupRows()
            keys: set[tuple[int, int, int]] = set()
            for device_id in rng.sample(devices, rng.randint(1, len(devices))):
                rows.devices.append(device_id)
                position = len(rows.devices)
                rows.seen[device_id] = (None, None)
                for _ in range(rng.randint(0, 8)):
                    if sent and rng.random() < 0.1:  # a retried reading of this device
                        retried = [s for s in sent if s[0] == device_id]
                        if not retried:
                            continue
                        _, code, micros = rng.choice(retried)
                    else:  # anywhere in the last ten minutes: late ones included
                        code, micros = rng.choice(CODES), base + rng.randrange(600) * 1_000_000
                    if (position, code, micros) in keys:
                        continue  # `writer.gather` drops repeats within a group
                    keys.add((position, code, micros))
                    rows.subjects.append(position)
                    rows.sensor_types.append(code)
                    rows.micros.append(micros)
                    rows.values.append(float(step * 1000 + len(rows.values)))
                    rows.hubs.append(None)
                    sent.append((device_id, code, micros))
            try:
                await repository.write_group(conn, new_only, rows)
            except asyncpg.UniqueViolationError:
                fallbacks += 1
                await repository.write_group(conn, full, rows)
            expected = await conn.fetch(
                """SELECT DISTINCT ON (device_id, sensor_type) device_id, sensor_type, ts, value
                   FROM readings ORDER BY device_id, sensor_type, ts DESC"""
            )
            latest = await conn.fetch(
                """SELECT device_id, sensor_type, ts, value FROM device_latest_readings
                   ORDER BY device_id, sensor_type"""
            )
            assert [tuple(r) for r in latest] == [tuple(r) for r in expected], f"step {step}"
        assert fallbacks > 0  # the full statement's merge was exercised too
    finally:
        await conn.close()
