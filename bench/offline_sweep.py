"""Cost of one `device_offline` sweep over a large fleet.

Provisions `--devices` devices in a fresh database, gives them `last_seen_at` values with
`--offline-percent` of them silent for longer than three reporting intervals, then times the
first sweep (opens those alerts) and steady-state sweeps (nothing new to open).

    .venv/bin/python bench/offline_sweep.py --devices 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SECRET
from climasense.alerts.offline import sweep
from climasense.audit import LOCAL_CLI
from climasense.auth.keys import KeyHasher
from climasense.db.migrate import migrate
from climasense.db.pool import create_pool
from climasense.devices import service as devices_service


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


async def timed_sweep(pool: asyncpg.Pool) -> tuple[float, tuple[int, int]]:
    async with pool.acquire() as conn, conn.transaction():
        started = time.perf_counter()
        result = await sweep(conn)
        return time.perf_counter() - started, result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--offline-percent", type=float, default=5.0)
    args = parser.parse_args()
    name, url = await create_database(args.pg)
    try:
        pool = await create_pool(url, min_size=1, max_size=2)
        async with pool.acquire() as conn:
            await migrate(conn)
        for start in range(0, args.devices, 10_000):
            await devices_service.provision(
                pool,
                KeyHasher(SECRET),
                kind="standalone",
                model="B-1",
                batch="fleet",
                count=min(10_000, args.devices - start),
                operator=LOCAL_CLI,
            )
        fraction = args.offline_percent / 100
        await pool.execute(
            """UPDATE devices SET last_seen_at = CASE WHEN random() < $1
                   THEN now() - interval '2 hours' ELSE now() - interval '1 minute' END""",
            fraction,
        )
        await pool.execute("VACUUM ANALYZE devices")
        await pool.execute("VACUUM ANALYZE device_settings")
        first, opened = await timed_sweep(pool)
        unanalysed = [await timed_sweep(pool) for _ in range(3)]
        # What autovacuum does within a minute of the first sweep's thousands of new alerts.
        await pool.execute("ANALYZE alerts")
        steady = [await timed_sweep(pool) for _ in range(5)]
        await pool.close()
    finally:
        await drop_database(args.pg, name)
    print(f"{args.devices} devices, {args.offline_percent:g} % silent")
    print(f"first sweep: {first * 1000:.0f} ms, opened {opened[0]} alerts")
    print(
        "steady sweep before alerts is analysed: "
        f"median {statistics.median(t for t, _ in unanalysed) * 1000:.0f} ms"
    )
    median = statistics.median(t for t, _ in steady)
    print(
        f"steady sweep (nothing new): median {median * 1000:.0f} ms over {len(steady)} runs, "
        f"every 15 s = {median / 15 * 100:.2f} % of one core's time"
    )


if __name__ == "__main__":
    asyncio.run(main())
