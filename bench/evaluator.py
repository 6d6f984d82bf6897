"""What the alert evaluator costs per outbox row: its own CPU and PostgreSQL's.

`.venv/bin/python bench/evaluator.py` (about a minute; local PostgreSQL at
CLIMASENSE_BENCH_PG_URL). A worker process creates a fresh migrated database with 3,000
standalone devices, the default alert rules of a fresh install and the readings partitions the
storage job keeps with default settings. Each pass it commits one telemetry group per 30
devices through the real ingest statement (`telemetry.repository.ingest_statement`), 10 new
readings per device (the 7 sensor types, then 3 again a second later), so the outbox holds one
row per device as ingest leaves it; then it runs `alerts.evaluator.evaluate_batch` over every
shard in batches of BENCH_BATCH_SIZE (500, `AlertSettings.batch_size`'s default) until the
outbox is empty, and reports the worker's own CPU (`time.process_time`) and its backend's CPU
(from /proc, user + system) per outbox row consumed. Every 50th device alternates its battery
between 10 % and 80 % from pass to pass, so some alerts open and resolve each pass; the rest
break no rule (every series' state still moves forward every pass). One pass before the
measured ones fills `alert_series`.

BENCH_BASELINE_SRC=/path/to/other/checkout/src runs a second worker with that code (its own
database, migrated by its own migrations) and interleaves their passes (AB, BA, AB, …); the
last lines give each side's median and the median of this/baseline ratios within a pass.
BENCH_PASSES (8). BENCH_PROFILE=file.prof writes a cProfile of this code's evaluate_batch calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PG_URL = os.environ.get("CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSES = int(os.environ.get("BENCH_PASSES", "8"))
BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "500"))
DEVICES = 3000
DEVICES_PER_GROUP = 30
READINGS_PER_DEVICE = 10
CHURN_EVERY = 50
# Plausible values per sensor type code that break none of the default rules.
VALUES = {1: 21.5, 2: 45.0, 3: 1013.0, 4: 1.0, 5: 80.0, 6: -60.0, 7: 50.0}
HERE_SRC = Path(__file__).resolve().parents[1] / "src"
# `bench.seed`, after the code under test (PYTHONPATH) on the path, so it seeds that code's schema.
sys.path.append(str(HERE_SRC.parent))


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the worker: runs with the code under test on its sys.path -------------------------------


async def worker() -> None:

    from bench.seed import seeded_database
    from climasense.alert_settings import AlertSettings
    from climasense.alerts import evaluator
    from climasense.alerts.evaluator import RuleSet, evaluate_batch
    from climasense.alerts.shards import SHARD_COUNT
    from climasense.telemetry import repository
    from climasense.telemetry.writer import GroupRows

    default_batch = next(
        f.default for f in dataclasses.fields(AlertSettings) if f.name == "batch_size"
    )
    async with seeded_database(PG_URL, DEVICES) as (conn, devices):
        statement = repository.ingest_statement("partitioned")
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        base = int(time.time() - 86400) * 1_000_000
        shards = list(range(SHARD_COUNT))
        rules = RuleSet()
        # As `run_evaluator` calls it: with the series state carried between batches where the
        # code under test has that (`SeriesCache`), a baseline may not.
        extra: list[Any] = []
        if hasattr(evaluator, "SeriesCache"):
            extra.append(evaluator.SeriesCache())
        profile = os.environ.get("BENCH_PROFILE") if os.environ.get("BENCH_SIDE") == "A" else None
        profiler: Any = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()

        async def fill(index: int) -> None:
            for first in range(0, DEVICES, DEVICES_PER_GROUP):
                rows = GroupRows()
                rows.devices = devices[first : first + DEVICES_PER_GROUP]
                for position, device_id in enumerate(rows.devices, start=1):
                    churn = (first + position - 1) % CHURN_EVERY == 0
                    for j in range(READINGS_PER_DEVICE):
                        sensor_type = j % 7 + 1
                        value = VALUES[sensor_type]
                        if churn and sensor_type == 5 and index % 2:
                            value = 10.0
                        rows.subjects.append(position)
                        rows.sensor_types.append(sensor_type)
                        rows.micros.append(base + index * 60_000_000 + (j // 7) * 1_000_000)
                        rows.values.append(value)
                        rows.hubs.append(None)
                    rows.seen[device_id] = (None, None)
                await repository.write_group(conn, statement, rows)

        async def evaluate(measure: bool) -> dict[str, float]:
            client = server = 0.0
            consumed = batches = 0
            while True:
                cpu, pg = time.process_time(), backend_cpu(pid)
                if measure and profiler is not None:
                    profiler.enable()
                done = await evaluate_batch(conn, shards, BATCH_SIZE, rules, *extra)
                if measure and profiler is not None:
                    profiler.disable()
                if done == 0:
                    break
                client += time.process_time() - cpu
                server += backend_cpu(pid) - pg
                consumed += done
                batches += 1
            return {
                "rows": consumed,
                "batches": batches,
                "client_us": client * 1e6 / max(consumed, 1),
                "pg_us": server * 1e6 / max(consumed, 1),
            }

        await fill(0)
        await conn.execute("ANALYZE")
        await evaluate(measure=False)  # fills alert_series: every later pass updates it
        await conn.execute("ANALYZE")
        print(json.dumps({"ready": True, "default_batch_size": default_batch}), flush=True)
        for index, line in enumerate(sys.stdin, start=1):
            if line.strip() != "pass":
                break
            await fill(index)
            print(json.dumps(await evaluate(measure=True)), flush=True)
        if profiler is not None and profile:
            profiler.dump_stats(profile)
        hot = await conn.fetchrow(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'alert_series'"
        )
        print(
            f"  {os.environ.get('BENCH_SIDE')}: alert_series updates {hot[0]}, "
            f"of which HOT {hot[1]} (statistics may lag)",
            file=sys.stderr,
        )


# --- the driver ------------------------------------------------------------------------------


class Side:
    def __init__(self, label: str, src: Path) -> None:
        self.label = label
        env = dict(os.environ, PYTHONPATH=str(src), BENCH_SIDE=label)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.figures: list[dict[str, float]] = []

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.label} ended")
        result: dict[str, Any] = json.loads(line)
        return result

    def run_pass(self) -> dict[str, float]:
        assert self.process.stdin is not None
        self.process.stdin.write("pass\n")
        self.process.stdin.flush()
        figures = self.read()
        self.figures.append(figures)
        return figures

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.flush()
        self.process.wait(timeout=120)


def main() -> None:
    baseline = os.environ.get("BENCH_BASELINE_SRC")
    sides = [Side("A", HERE_SRC)]
    if baseline:
        sides.append(Side("B", Path(baseline).resolve()))
    try:
        for side in sides:
            ready = side.read()
            if ready["default_batch_size"] != BATCH_SIZE:
                print(f"note: AlertSettings.batch_size defaults to {ready['default_batch_size']}")
        print(
            f"per outbox row ({DEVICES} rows of {READINGS_PER_DEVICE} readings per pass, "
            f"batches of {BATCH_SIZE}); A = {HERE_SRC}" + (f", B = {baseline}" if baseline else "")
        )
        for number in range(PASSES):
            order = sides if number % 2 == 0 else sides[::-1]
            for side in order:
                f = side.run_pass()
                print(
                    f"  pass {number + 1} {side.label}: client {f['client_us']:6.1f} µs  "
                    f"PostgreSQL {f['pg_us']:6.1f} µs  ({f['rows']:.0f} rows, "
                    f"{f['batches']:.0f} batches)",
                    flush=True,
                )
        print(f"median of {PASSES} passes:")
        for side in sides:
            client = statistics.median(f["client_us"] for f in side.figures)
            pg = statistics.median(f["pg_us"] for f in side.figures)
            print(
                f"  {side.label}: client {client:6.1f} µs  PostgreSQL {pg:6.1f} µs  sum {client + pg:6.1f} µs"
            )
        if baseline:
            a, b = sides
            for key, label in (("client_us", "client"), ("pg_us", "PostgreSQL")):
                ratio = statistics.median(
                    x[key] / y[key] for x, y in zip(a.figures, b.figures, strict=True)
                )
                print(f"  A/B {label:10s} {ratio:5.2f}")
            ratio = statistics.median(
                (x["client_us"] + x["pg_us"]) / (y["client_us"] + y["pg_us"])
                for x, y in zip(a.figures, b.figures, strict=True)
            )
            print(f"  A/B {'sum':10s} {ratio:5.2f}")
    finally:
        for side in sides:
            side.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        asyncio.run(worker())
    else:
        main()
