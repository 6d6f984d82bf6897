"""Commit → alert latency under telemetry load.

Runs real `climasense worker` processes against a fresh database on a PostgreSQL server, while
this script commits readings the way ingest does (group commits: readings, `last_seen_at`, one
`alert_outbox` row per device, in one transaction) at a steady rate of non-alerting readings,
plus, every `--probe-interval`, one reading that breaks a rule for a device of its own. For
each probe: the time from its commit returning to its alert being visible to another session
(polled every 5 ms), and, from the database's own clocks, from the outbox row's transaction to
the alert's insert.

    .venv/bin/python bench/alert_latency.py --readings-per-second 3000 --duration 20

(`POST /v1/telemetry` is built in another branch; until it is merged here, the load is written
directly in ingest's shape — see tests/support/readings.py.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from climasense.alerts import service as alerts_service
from climasense.auth.keys import KeyHasher
from climasense.db.migrate import migrate
from climasense.db.pool import create_pool
from climasense.devices import service as devices_service

SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz"


async def create_database(admin_url: str) -> tuple[str, str]:
    name = f"cs_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await conn.close()


async def commit_group(
    conn: asyncpg.Connection, devices: list[UUID], sensor_types: list[int], values: list[float]
) -> None:
    """One ingest-style group commit: each device one reading per sensor type, now."""
    now = datetime.now(UTC)
    dev, st, ts, val = [], [], [], []
    for i, device in enumerate(devices):
        for sensor_type in sensor_types:
            dev.append(device)
            st.append(sensor_type)
            ts.append(now - timedelta(microseconds=i))
            val.append(values[sensor_type - 1])
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO readings (device_id, sensor_type, ts, value)
               SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::timestamptz[], $4::float8[])
               ON CONFLICT DO NOTHING""",
            dev,
            st,
            ts,
            val,
        )
        await conn.execute(
            "UPDATE devices SET last_seen_at = now() WHERE device_id = ANY($1::uuid[])", devices
        )
        per = len(sensor_types)
        await conn.execute(
            """INSERT INTO alert_outbox (device_id, shard, sensor_types, timestamps, "values")
               SELECT d, abs(hashtext(d::text)) % 64, s, t, v
               FROM unnest($1::uuid[]) WITH ORDINALITY AS u(d, n),
                    LATERAL (SELECT $2::smallint[] AS s) a,
                    LATERAL (SELECT ($3::timestamptz[])[(n - 1) * $5 + 1 : n * $5] AS t) b,
                    LATERAL (SELECT ($4::float8[])[(n - 1) * $5 + 1 : n * $5] AS v) c""",
            devices,
            sensor_types,
            ts,
            val,
            per,
        )


async def load(pool: asyncpg.Pool, devices: list[UUID], rate: float, stop: asyncio.Event) -> int:
    """Steady non-alerting readings: 7 sensor types per device, group commits every 50 ms."""
    normal = [21.0, 50.0, 1013.0, 1.0, 90.0, -70.0, 50.0]
    sensor_types = list(range(1, 8))
    per_tick = max(1, round(rate * 0.05 / len(sensor_types)))
    written, i = 0, 0
    async with pool.acquire() as conn:
        next_tick = time.perf_counter()
        while not stop.is_set():
            group = [devices[(i + k) % len(devices)] for k in range(per_tick)]
            i += per_tick
            await commit_group(conn, group, sensor_types, normal)
            written += len(group) * len(sensor_types)
            next_tick += 0.05
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
    return written


async def probes(
    pool: asyncpg.Pool,
    watcher: asyncpg.Connection,
    devices: list[UUID],
    rule_id: UUID,
    interval: float,
    stop: asyncio.Event,
) -> list[float]:
    latencies: list[float] = []
    for device in devices:
        if stop.is_set():
            break
        async with pool.acquire() as conn:
            await commit_group(conn, [device], [1], [45.0] * 7)  # temperature 45 > 40
        committed = time.perf_counter()
        deadline = committed + 10
        while time.perf_counter() < deadline:
            if await watcher.fetchval(
                "SELECT true FROM alerts WHERE rule_id = $1 AND subject_id = $2", rule_id, device
            ):
                latencies.append(time.perf_counter() - committed)
                break
            await asyncio.sleep(0.005)
        else:
            latencies.append(float("inf"))
        await asyncio.sleep(interval * random.uniform(0.5, 1.5))
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--readings-per-second", type=float, default=3000)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--probe-interval", type=float, default=0.1)
    args = parser.parse_args()

    name, url = await create_database(args.pg)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        pool = await create_pool(url, min_size=2, max_size=6)
        async with pool.acquire() as conn:
            await migrate(conn)
        made = await devices_service.provision(
            pool,
            KeyHasher(SECRET),
            kind="standalone",
            model="B-1",
            batch="load",
            count=args.devices,
        )
        probe_made = await devices_service.provision(
            pool,
            KeyHasher(SECRET),
            kind="standalone",
            model="B-1",
            batch="probe",
            count=int(args.duration / args.probe_interval) + 10,
        )
        rule = await alerts_service.create_rule(
            pool,
            {
                "name": "bench",
                "kind": "threshold",
                "sensor_type": "temperature",
                "op": ">",
                "threshold": 40.0,
                "for_seconds": 0,
                "severity": "info",
                "batch": "probe",
            },
        )
        with tempfile.TemporaryDirectory() as data_dir:
            env = {
                **os.environ,
                "CLIMASENSE_DATABASE_URL": url,
                "CLIMASENSE_SECRET_KEY": SECRET,
                "CLIMASENSE_DATA_DIR": data_dir,
                "CLIMASENSE_LOG_LEVEL": "warning",
            }
            procs = [
                subprocess.Popen([sys.executable, "-m", "climasense", "worker"], env=env)
                for _ in range(args.workers)
            ]
            await asyncio.sleep(3)  # workers up and holding their shards
            stop = asyncio.Event()
            watcher = await asyncpg.connect(url)
            sampler = await asyncpg.connect(url)
            started = time.perf_counter()
            load_task = asyncio.create_task(
                load(pool, [d["device_id"] for d in made], args.readings_per_second, stop)
            )
            probe_task = asyncio.create_task(
                probes(
                    pool,
                    watcher,
                    [d["device_id"] for d in probe_made],
                    rule["rule_id"],
                    args.probe_interval,
                    stop,
                )
            )
            backlog = []
            while time.perf_counter() - started < args.duration:
                await asyncio.sleep(0.5)
                backlog.append(await sampler.fetchval("SELECT count(*) FROM alert_outbox"))
            stop.set()
            written = await load_task
            latencies = await probe_task
            elapsed = time.perf_counter() - started
            db_side = await watcher.fetch(
                """SELECT extract(epoch FROM a.created_at - r.arrived) AS s FROM alerts a
                   JOIN LATERAL (SELECT max(d.last_seen_at) AS arrived FROM devices d
                                 WHERE d.device_id = a.subject_id) r ON true
                   WHERE a.rule_id = $1""",
                rule["rule_id"],
            )
            await watcher.close()
            await sampler.close()
        await pool.close()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        await drop_database(args.pg, name)

    ms = [v * 1000 for v in latencies]
    print(
        f"load: {written / elapsed:.0f} readings/s ({written / elapsed / 7:.0f} outbox rows/s), "
        f"{args.workers} worker process(es), {elapsed:.0f} s"
    )
    print(
        f"outbox backlog (rows, sampled every 0.5 s): median {statistics.median(backlog):.0f}, "
        f"max {max(backlog)}"
    )
    print(
        f"commit -> alert visible, {len(ms)} probes: p50 {percentile(ms, 50):.0f} ms, "
        f"p90 {percentile(ms, 90):.0f} ms, p99 {percentile(ms, 99):.0f} ms, max {max(ms):.0f} ms"
    )
    db_ms = [float(r["s"]) * 1000 for r in db_side]
    print(
        f"db clock, ingest tx -> alert insert: p50 {percentile(db_ms, 50):.0f} ms, "
        f"p99 {percentile(db_ms, 99):.0f} ms"
    )
    print(
        f"p99 target 1000 ms: {'met' if percentile(ms, 99) <= 1000 else 'NOT met'} "
        f"(ratio p99/target {percentile(ms, 99) / 1000:.2f})"
    )


if __name__ == "__main__":
    asyncio.run(main())
