"""Client and PostgreSQL CPU per reading of the group-commit statement: the integer columns as
array text (`repository.write_group`) against binary arrays (the encoding before round 4).

`.venv/bin/python bench/write_group_cost.py` (about a minute; local PostgreSQL at
CLIMASENSE_BENCH_PG_URL). Same setup as bench/ingest_statement.py (fresh migrated database,
1,000 devices, the default partitions); groups of BENCH_DEVICES_PER_GROUP (15) devices × 10
new readings, BENCH_GROUPS (200) groups per figure, the two encodings in turn BENCH_PASSES (6)
times. Client CPU is this process's (`time.process_time`, the event loop's share of a round
trip included), PostgreSQL's the backend's from /proc.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from bench import ingest_statement as setup
from bench.seed import seeded_database
from climasense.telemetry import repository
from climasense.telemetry.writer import GroupRows

GROUPS = int(os.environ.get("BENCH_GROUPS", "200"))
PASSES = int(os.environ.get("BENCH_PASSES", "6"))
setup.DEVICES_PER_GROUP = int(os.environ.get("BENCH_DEVICES_PER_GROUP", "15"))

TEXT = repository.ingest_statement("partitioned")
BINARY = TEXT.replace(
    """unnest($1::text::int4[], $2::text::int2[], $3::text::int8[], $4::float8[],
                $5::text::int4[])""",
    "unnest($1::int4[], $2::int2[], $3::int8[], $4::float8[], $5::int4[])",
)
assert BINARY != TEXT


async def write_binary(conn: asyncpg.Connection, rows: GroupRows) -> None:
    seen = sorted(rows.seen.items())
    await conn.fetch(
        BINARY,
        rows.subjects,
        rows.sensor_types,
        rows.micros,
        rows.values,
        rows.hubs,
        [device_id for device_id, _ in seen],
        [position[0] for _, position in seen],
        [position[1] for _, position in seen],
        rows.devices,
    )


async def main() -> None:
    async with seeded_database(setup.PG_URL, 1000) as (conn, devices):
        await conn.execute("ANALYZE")
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        base = int(time.time() - 86400) * 1_000_000
        writers = {
            "binary arrays": lambda rows: write_binary(conn, rows),
            "array text": lambda rows: repository.write_group(conn, TEXT, rows),
        }
        figures: dict[str, list[tuple[float, float]]] = {label: [] for label in writers}
        index = 0
        size = setup.DEVICES_PER_GROUP * setup.READINGS_PER_DEVICE
        for write in writers.values():  # warm-up: plans, generic plan after 5 runs
            for _ in range(20):
                index += 1
                await write(setup.group(devices, index, base))
        print(f"CPU per reading, {GROUPS} groups of {size} new readings per figure")
        for _ in range(PASSES):
            for label, write in writers.items():
                client = backend = 0.0
                for _ in range(GROUPS):
                    index += 1
                    rows = setup.group(devices, index, base)
                    before, started = setup.backend_cpu(pid), time.process_time()
                    await write(rows)
                    client += time.process_time() - started
                    backend += setup.backend_cpu(pid) - before
                readings = GROUPS * size
                figures[label].append((client * 1e6 / readings, backend * 1e6 / readings))
                print(
                    f"  {label:14s} client {figures[label][-1][0]:5.2f} µs, "
                    f"PostgreSQL {figures[label][-1][1]:5.2f} µs",
                    flush=True,
                )
        print("median over the passes (client / PostgreSQL µs per reading):")
        for label, values in figures.items():
            client_median = statistics.median(v[0] for v in values)
            backend_median = statistics.median(v[1] for v in values)
            print(f"  {label:14s} {client_median:5.2f} / {backend_median:5.2f}")


if __name__ == "__main__":
    asyncio.run(main())
