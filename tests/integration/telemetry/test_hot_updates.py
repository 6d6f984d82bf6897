"""The tables every group commit updates leave room for heap-only (HOT) updates (migration
0110): a report rewrites a device's latest values, its current hourly rollups and its
`last_seen_at` on the same page, without new index entries."""

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


async def test_reports_update_latest_values_rollups_and_last_seen_in_place(
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
        # Four reports a minute apart, within one hour: the first inserts each series' latest
        # value and rollup row, the next three update them.
        hour = (int(time.time()) // 3600 - 2) * 3600
        for minute in range(4):
            duplicates = await repository.write_group(
                conn, statement, report(devices, (hour + 60 * minute) * 1_000_000)
            )
            assert duplicates == []
        await conn.execute("SELECT pg_stat_force_next_flush()")  # flushed when it goes idle
        stats = {
            row["relname"]: (row["n_tup_upd"], row["n_tup_hot_upd"])
            for row in await conn.fetch(
                """SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
                   WHERE relname IN ('latest_readings', 'readings_hourly', 'devices')"""
            )
        }
    finally:
        await conn.close()
    updates = DEVICES * SENSOR_TYPES * 3
    assert stats["latest_readings"][0] == updates
    assert stats["readings_hourly"][0] == updates
    assert stats["devices"][0] == DEVICES * 4
    # At fill factor 100 (before 0110) this test saw 2 % (latest_readings), 1 %
    # (readings_hourly) and 9 % (devices) of the updates as HOT; at 50, 98–99 %.
    for table, (updated, hot) in stats.items():
        assert hot >= 0.9 * updated, f"{table}: {hot} of {updated} updates were HOT"
