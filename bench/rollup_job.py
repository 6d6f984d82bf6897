"""What the hourly rollup job costs PostgreSQL per reading it materializes (plain PostgreSQL).

`.venv/bin/python bench/rollup_job.py` (about a minute; local PostgreSQL at
CLIMASENSE_BENCH_PG_URL). On a fresh migrated database with BENCH_DEVICES (1,000) devices, it
stores one hour of readings — every device reports its 7 sensor types every
BENCH_INTERVAL_SECONDS (30) — through the real ingest statement, in groups of 300 readings as
the writer commits them, then runs one round of the `telemetry-rollup` job
(`telemetry.rollup.materialize`) that materializes that hour, and prints the PostgreSQL
backend's CPU time (from /proc) per reading for both: ingest, and the job. The job's figure is
what took the place of round 4's rollup upsert at ingest (docs/performance.md, round 5).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.append(str(Path(__file__).resolve().parents[1]))
from bench.seed import seeded_database
from climasense.telemetry import repository, rollup
from climasense.telemetry.writer import GroupRows

PG_URL = os.environ.get("CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEVICES = int(os.environ.get("BENCH_DEVICES", "1000"))
INTERVAL = int(os.environ.get("BENCH_INTERVAL_SECONDS", "30"))
GROUP = 300
SENSOR_TYPES = 7


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def readings(devices: list[uuid.UUID], hour: datetime) -> list[tuple[int, int, int]]:
    """(device position, sensor type, epoch µs) of one hour, in arrival order."""
    start = int(hour.timestamp()) * 1_000_000
    return [
        (position, sensor_type, start + second * 1_000_000)
        for second in range(0, 3600, INTERVAL)
        for position in range(len(devices))
        for sensor_type in range(1, SENSOR_TYPES + 1)
    ]


def group(devices: list[uuid.UUID], chunk: list[tuple[int, int, int]]) -> GroupRows:
    rows = GroupRows()
    positions: dict[int, int] = {}
    for position, sensor_type, micros in chunk:
        if position not in positions:
            rows.devices.append(devices[position])
            positions[position] = len(rows.devices)
            rows.seen[devices[position]] = (None, None)
        rows.subjects.append(positions[position])
        rows.sensor_types.append(sensor_type)
        rows.micros.append(micros)
        rows.values.append(20.0 + sensor_type)
        rows.hubs.append(None)
    return rows


async def main() -> None:
    async with seeded_database(PG_URL, DEVICES) as (conn, devices):
        # The hour that has just begun: nothing in it is late, and the job's round an hour on
        # materializes exactly it.
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        statement = repository.ingest_statement(await repository.storage_engine(conn))
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        stored = readings(devices, hour)
        print(f"{len(stored):,} readings in one hour ({DEVICES} devices, every {INTERVAL} s)")
        started, cpu = time.monotonic(), backend_cpu(pid)
        for first in range(0, len(stored), GROUP):
            await repository.write_group(
                conn, statement, group(devices, stored[first : first + GROUP])
            )
        ingest_cpu, ingest_s = backend_cpu(pid) - cpu, time.monotonic() - started
        await conn.execute("VACUUM ANALYZE readings")
        url = PG_URL.rsplit("/", 1)[0] + "/" + await conn.fetchval("SELECT current_database()")
        # One connection: the job's steps take one at a time, so this is its only backend.
        pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
        assert pool is not None
        try:
            job_pid = await pool.fetchval("SELECT pg_backend_pid()")
            started, cpu = time.monotonic(), backend_cpu(job_pid)
            done = await rollup.materialize(pool, hour + timedelta(hours=1, minutes=1))
            job_cpu, job_s = backend_cpu(job_pid) - cpu, time.monotonic() - started
        finally:
            await pool.close()
        print(
            f"ingest: {ingest_cpu * 1e6 / len(stored):6.2f} µs PostgreSQL CPU per reading "
            f"({ingest_s:.1f} s)"
        )
        print(
            f"job:    {job_cpu * 1e6 / len(stored):6.2f} µs PostgreSQL CPU per reading "
            f"({job_s:.2f} s, {done.hours_written:,} series-hours written)"
        )


if __name__ == "__main__":
    asyncio.run(main())
