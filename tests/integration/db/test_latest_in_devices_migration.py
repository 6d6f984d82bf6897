"""Migration 0113 moves each device's latest values from the `latest_readings` table into the
device's row, read through the view `device_latest_readings` as the table read; the table stays
for API processes of the previous release during a rolling upgrade."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from climasense.db.migrate import MIGRATIONS_DIR, migrate
from tests.support import postgres


async def test_latest_values_survive_the_move_into_the_device_row(
    pg_admin_url: str, tmp_path: Path
) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS_DIR.iterdir():
        if path.suffix in {".sql", ".py"} and path.name[:4].isdigit() and path.name < "0113":
            shutil.copy(path, before / path.name)
    name = await postgres.create_database(pg_admin_url)
    conn = await asyncpg.connect(postgres.database_url(pg_admin_url, name))
    try:
        await migrate(conn, before)
        devices = [uuid.uuid4() for _ in range(3)]
        await conn.executemany(
            """INSERT INTO devices (device_id, serial_number, kind, model, batch)
               VALUES ($1, $2, 'standalone', 'CS-100', 'm0113')""",
            [(d, f"CS-M0113-{i}") for i, d in enumerate(devices)],
        )
        at = datetime(2026, 11, 30, 12, tzinfo=UTC)
        # The first device has three sensor types (with a gap), the second one, the third none.
        rows = [
            (devices[0], 1, at, 21.5),
            (devices[0], 4, at - timedelta(minutes=5), 1.0),
            (devices[0], 7, at + timedelta(seconds=1), 42.0),
            (devices[1], 2, at, 55.0),
        ]
        await conn.executemany(
            "INSERT INTO latest_readings (device_id, sensor_type, ts, value) VALUES ($1, $2, $3, $4)",
            rows,
        )
        assert await migrate(conn) == ["0113"]
        seen = await conn.fetch(
            "SELECT device_id, sensor_type, ts, value FROM device_latest_readings ORDER BY 1, 2"
        )
        assert sorted(tuple(r) for r in seen) == sorted(rows)
        # The previous release's ingest statement still writes the old table.
        await conn.execute(
            """INSERT INTO latest_readings AS l (device_id, sensor_type, ts, value)
               VALUES ($1, 1, $2, 22.0)
               ON CONFLICT (device_id, sensor_type) DO UPDATE SET ts = excluded.ts,
                   value = excluded.value WHERE l.ts < excluded.ts""",
            devices[0],
            at + timedelta(minutes=1),
        )
        stored = await conn.fetchrow(
            "SELECT latest_ts, latest_values FROM devices WHERE device_id = $1", devices[0]
        )
        assert stored["latest_values"] == [21.5, None, None, 1.0, None, None, 42.0]
        untouched = await conn.fetchrow(
            "SELECT latest_ts, latest_values FROM devices WHERE device_id = $1", devices[2]
        )
        assert (untouched["latest_ts"], untouched["latest_values"]) == ([], [])
    finally:
        await conn.close()
        await postgres.drop_database(pg_admin_url, name)
