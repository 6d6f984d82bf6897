"""The table every group commit updates leaves room for heap-only (HOT) updates (migration
0110): a report rewrites a device's `last_seen_at` and latest values (in the device's row since
0113) on the same page, without new index entries. The hourly rollup is no longer written by
ingest at all (0112)."""

from __future__ import annotations

import time
import uuid

import asyncpg

from climasense.telemetry import repository
from climasense.telemetry.writer import GroupRows

DEVICES = 300  # a few dozen pages of `devices`; full ones at fill factor 100
SENSOR_TYPES = 7


def report(devices: list[uuid.UUID], micros: int) -> GroupRows:
    """One reading of each sensor type from every device, at `micros`."""
    rows = GroupRows(devices=devices)
    for position, device_id in enumerate(devices, start=1):
        for sensor_type in range(1, SENSOR_TYPES + 1):
            rows.subjects.append(position)
            rows.sensor_types.append(sensor_type)
            rows.micros.append(micros)
            rows.values.append(20.0 + sensor_type + micros / 1e12)
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
        # Four reports a second apart. The first fills each device's latest values (its row
        # grows, and may move); the next three only replace them: those must be HOT.
        now = int(time.time())
        first_report: dict[str, tuple[int, int, int]] = {}
        for second in range(4):
            duplicates = await repository.write_group(
                conn, statement, report(devices, (now + second) * 1_000_000)
            )
            assert duplicates == []
            if second == 0:
                first_report = await _table_stats(conn)
        stats = {
            table: (
                ins - first_report[table][0],
                upd - first_report[table][1],
                hot - first_report[table][2],
            )
            for table, (ins, upd, hot) in (await _table_stats(conn)).items()
        }
        latest = await conn.fetch(
            "SELECT sensor_type, ts, value FROM device_latest_readings WHERE device_id = $1 ORDER BY 1",
            devices[-1],
        )
    finally:
        await conn.close()
    assert stats.pop("readings_hourly")[:2] == (0, 0)  # the rollup job's, not ingest's
    assert stats["devices"][1] == DEVICES * 3  # one update a device a report, latest included
    last = (now + 3) * 1_000_000
    assert [(r["sensor_type"], r["value"]) for r in latest] == [
        (t, 20.0 + t + last / 1e12) for t in range(1, SENSOR_TYPES + 1)
    ]
    assert {int(r["ts"].timestamp()) for r in latest} == {now + 3}
    # At fill factor 100 (before 0110) this test saw 9 % of the updates of `devices` as HOT
    # (and 2 % of `latest_readings`', then a table of its own); at 50, 98–99 %.
    for table, (_inserted, updated, hot) in stats.items():
        assert hot >= 0.9 * updated, f"{table}: {hot} of {updated} updates were HOT"


async def _table_stats(conn: asyncpg.Connection) -> dict[str, tuple[int, int, int]]:
    """Rows inserted, updated and updated HOT so far, of the tables ingest writes in place."""
    await conn.execute("SELECT pg_stat_force_next_flush()")  # flushed when it goes idle
    return {
        row["relname"]: (row["n_tup_ins"], row["n_tup_upd"], row["n_tup_hot_upd"])
        for row in await conn.fetch(
            """SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
               WHERE relname IN ('readings_hourly', 'devices')"""
        )
    }
