"""The tables every group commit updates leave room for heap-only (HOT) updates (migration
0110): a report rewrites a device's latest values and its `last_seen_at` on the same page,
without new index entries. The hourly rollup is no longer written by ingest at all (0112)."""

from __future__ import annotations

import time
import uuid

import asyncpg

from climasense.telemetry import repository
from climasense.telemetry.writer import GroupRows

DEVICES = 300  # latest_readings: 2,100 rows, a dozen pages; full ones at fill factor 100
SENSOR_TYPES = 7


def report(devices: list[uuid.UUID], micros: int) -> GroupRows:
    """One reading of each sensor type from every device, at `micros`."""
    rows = GroupRows(devices=devices)
    for position, device_id in enumerate(devices, start=1):
        for sensor_type in range(1, SENSOR_TYPES + 1):
            rows.subjects.append(position)
            rows.sensor_types.append(sensor_type)
            rows.micros.append(micros)
            rows.values.append(20.0 + sensor_type)
            rows.hubs.append(None)
        rows.seen[device_id] = (None, None)
    return rows


async def test_reports_update_latest_values_and_last_seen_in_place(
    fresh_database_url: str,
) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:
        devices = [uuid.uuid4() for _ in range(DEVICES)]
        await conn.executemany(
            """INSERT INTO devices (device_id, serial_number, kind, model, batch)
               VALUES ($1, $2, 'standalone', 'CS-100', 'hot')""",
            [(d, f"CS-HOT-{i:06d}") for i, d in enumerate(devices)],
        )
        statement = repository.ingest_statement(await repository.storage_engine(conn))
        # Four reports a second apart: the first inserts each series' latest value, the next
        # three update it.
        now = int(time.time())
        for second in range(4):
            duplicates = await repository.write_group(
                conn, statement, report(devices, (now + second) * 1_000_000)
            )
            assert duplicates == []
        await conn.execute("SELECT pg_stat_force_next_flush()")  # flushed when it goes idle
        stats = {
            row["relname"]: (row["n_tup_ins"], row["n_tup_upd"], row["n_tup_hot_upd"])
            for row in await conn.fetch(
                """SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
                   WHERE relname IN ('latest_readings', 'readings_hourly', 'devices')"""
            )
        }
    finally:
        await conn.close()
    assert stats.pop("readings_hourly")[:2] == (0, 0)  # the rollup job's, not ingest's
    updates = DEVICES * SENSOR_TYPES * 3
    assert stats["latest_readings"][1] == updates
    assert stats["devices"][1] == DEVICES * 4
    # At fill factor 100 (before 0110) this test saw 2 % (latest_readings) and 9 % (devices)
    # of the updates as HOT (and 1 % of the rollup's, then written by ingest); at 50, 98–99 %.
    for table, (_inserted, updated, hot) in stats.items():
        assert hot >= 0.9 * updated, f"{table}: {hot} of {updated} updates were HOT"
