"""What each part of the group-commit statement costs PostgreSQL, per reading.

`.venv/bin/python bench/ingest_statement.py` (about 30 s; local PostgreSQL at
CLIMASENSE_BENCH_PG_URL). On a fresh migrated database with 1,000 devices and the range
partitions the storage job keeps with default settings (without them every reading lands in
`readings_default`, where a variant that probes `readings` before inserting looked 15–23 %
cheaper; with the partitions it was not), it runs the real ingest statement
(`telemetry.repository.ingest_statement`, plain PostgreSQL; the full statement and the
new-readings-only one the writer tries first) with groups of
BENCH_DEVICES_PER_GROUP (30) devices × 10 new readings (timestamps moving forward, as devices
report: each reading replaces its latest value; each device has reported once before, so its
row already holds latest values), and variants with one part left out, all on their generic
plans, and prints the backend's CPU time (`/proc/PID/schedstat`) per reading for each. The difference
to `full` is what that part costs. Variants run in turn BENCH_PASSES (2) times (ABAB…) to show
the noise; the last lines give each variant's median and its median ratio to `full` over the
passes (pairs from the same pass share the machine's load).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.append(str(Path(__file__).resolve().parents[1]))
from bench.seed import seeded_database
from climasense.telemetry import repository
from climasense.telemetry.writer import GroupRows

PG_URL = os.environ.get("CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GROUPS = int(os.environ.get("BENCH_GROUPS", "150"))
PASSES = int(os.environ.get("BENCH_PASSES", "2"))
DEVICES_PER_GROUP = int(os.environ.get("BENCH_DEVICES_PER_GROUP", "30"))
READINGS_PER_DEVICE = 10


def backend_cpu(pid: int) -> float:
    """The backend's CPU seconds so far: the scheduler's count in nanoseconds (`/proc/PID/stat`
    counts in 10 ms ticks, too coarse for a group of one device)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def without_cte(statement: str, name: str) -> str:
    """The statement with the data-modifying CTE `name` left out."""
    start = statement.index(f"{name} AS (")
    end = statement.index("\n)", start) + 2
    comma = statement.rfind(",", 0, start)
    return statement[:comma] + statement[end:]


# The hourly rollup as ingest kept it before migration 0112 (an upsert per series and hour in
# every group), to price the statement before and after in one run.
INGEST_TIME_ROLLUP = """,
hourly AS (
    INSERT INTO readings_hourly AS h (device_id, sensor_type, bucket, count, sum, min, max)
    SELECT device_id, sensor_type, date_trunc('hour', ts, 'UTC'),
           count(*), sum(value), min(value), max(value)
    FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (device_id, sensor_type, bucket) DO UPDATE
    SET count = h.count + excluded.count, sum = h.sum + excluded.sum,
        min = least(h.min, excluded.min), max = greatest(h.max, excluded.max)
)"""


def without_latest_values(statement: str) -> str:
    """The statement with the devices update keeping last seen and position only: without its
    latest-values columns and the join that feeds them (migration 0113 put them there)."""
    start = statement.index(",\n        latest_ts = ")
    end = statement.index("\n    FROM unnest($6", start)
    statement = statement[:start] + statement[end:]
    start = statement.index("\n    LEFT JOIN (")
    joined = ") AS n ON n.device_id = t.device_id"
    end = statement.index(joined, start) + len(joined)
    return statement[:start] + statement[end:]


def variants() -> dict[str, str]:
    full = repository.ingest_statement("partitioned")
    no_late = without_cte(full, "late")
    # No devices update at all: neither last seen nor (since 0113) the latest values.
    no_seen = full.replace("WHERE d.device_id = t.device_id", "WHERE false")
    before_0112 = no_late.replace(
        "\nSELECT s.ord FROM src", INGEST_TIME_ROLLUP + "\nSELECT s.ord FROM src"
    )
    sorted_outbox = full.replace(
        "array_agg(sensor_type), array_agg(ts), array_agg(value)",
        "array_agg(sensor_type ORDER BY ts, sensor_type),\n"
        "           array_agg(ts ORDER BY ts, sensor_type),\n"
        "           array_agg(value ORDER BY ts, sensor_type)",
    )
    assert sorted_outbox != full
    return {
        "full": full,
        "rollup at ingest (<0112)": before_0112,
        "outbox arrays sorted": sorted_outbox,
        # What the writer sends first: no ON CONFLICT, no duplicate report (round 9).
        "new only": repository.ingest_statement("partitioned", new_only=True),
        "no duplicate report": full.split("\nSELECT s.ord FROM src")[0] + "\nSELECT 1",
        "no late-hour record": no_late,
        "no latest values": without_latest_values(full),
        "no alert outbox": without_cte(full, "outbox"),
        "no devices update": no_seen,
        "readings insert only": without_cte(without_cte(no_seen, "late"), "outbox").split(
            "\nSELECT s.ord FROM src"
        )[0]
        + "\nSELECT 1",
    }


async def report_every_device(
    conn: asyncpg.Connection, devices: list[uuid.UUID], base_micros: int
) -> None:
    """One report of each sensor type from every device, older than the measured groups: each
    row then holds its latest values, and the measured updates keep its size (as a live
    fleet's do after its first reports; a first report grows the row)."""
    statement = repository.ingest_statement("partitioned")
    for first in range(0, len(devices), 100):
        rows = GroupRows()
        rows.devices = devices[first : first + 100]
        for position, device_id in enumerate(rows.devices, start=1):
            for code in range(1, 8):
                rows.subjects.append(position)
                rows.sensor_types.append(code)
                rows.micros.append(base_micros - 60_000_000)
                rows.values.append(21.5)
                rows.hubs.append(None)
            rows.seen[device_id] = (None, None)
        await repository.write_group(conn, statement, rows)


def group(devices: list[uuid.UUID], index: int, base_micros: int) -> GroupRows:
    rows = GroupRows()
    first = (index * DEVICES_PER_GROUP) % len(devices)
    rows.devices = devices[first : first + DEVICES_PER_GROUP]
    for position, device_id in enumerate(rows.devices, start=1):
        for j in range(READINGS_PER_DEVICE):
            rows.subjects.append(position)
            rows.sensor_types.append(j % 7 + 1)
            rows.micros.append(base_micros + index * 10_000_000 + (j // 7) * 1_000_000)
            rows.values.append(21.5)
            rows.hubs.append(None)
        rows.seen[device_id] = (None, None)
    return rows


async def main() -> None:
    async with seeded_database(PG_URL, 1000) as (conn, devices):
        await conn.execute("ANALYZE")
        # Only the <0112 variant writes the rollup table: give it the fill factor it had then.
        await conn.execute("ALTER TABLE readings_hourly SET (fillfactor = 50)")
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        # Every variant runs on its generic plan, as the server's statement does (its writer's
        # backend, profiled with perf under load, plans nothing): left to `auto`, PostgreSQL
        # may keep re-planning a variant whose generic plan it estimates dearer, and a plan of
        # this statement costs ~0.5 ms — more than a small group's execution (round 10).
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        # Readings as devices send them: from now on (none older than the rollup's threshold,
        # so none late; the statement does not check the clock, later groups run ahead of it).
        base = int(time.time()) * 1_000_000
        await report_every_device(conn, devices, base)
        statements = variants()
        figures: dict[str, list[float]] = {label: [] for label in statements}
        index = 0
        size = DEVICES_PER_GROUP * READINGS_PER_DEVICE
        print(f"backend CPU per reading, {GROUPS} groups of {size} new readings per figure")
        for _ in range(PASSES):
            for label, statement in statements.items():
                spent, readings = 0.0, 0
                for _ in range(GROUPS):
                    index += 1
                    rows = group(devices, index, base)
                    before = backend_cpu(pid)
                    await repository.write_group(conn, statement, rows)
                    spent += backend_cpu(pid) - before
                    readings += len(rows.subjects)
                figures[label].append(spent * 1e6 / readings)
                print(f"  {label:22s} {figures[label][-1]:6.2f} µs", flush=True)
        print(f"median of {PASSES} passes, and the median ratio to `full` within a pass:")
        for label, values in figures.items():
            ratio = statistics.median(v / f for v, f in zip(values, figures["full"], strict=True))
            print(f"  {label:22s} {statistics.median(values):6.2f} µs  {ratio:5.2f}")


if __name__ == "__main__":
    asyncio.run(main())
