"""CSV export of 1,000,000 readings from a real `climasense serve` process: rows/s, and the
server's peak RSS growth while it streams (it must not grow with the size of the export).

Readings are written straight into a fresh database (ingest has its own bench): one device with
200,000 readings and 80 devices with 10,000 each, over the last ~23 days. Then, with the server's
resident set size (VmRSS, /proc) sampled every 20 ms:

* `GET /admin/v1/telemetry/export` — the fleet's 1,000,000 readings
* `GET /admin/v1/devices/{id}/telemetry` with `Accept: text/csv` — one device's 200,000

    .venv/bin/python bench/csv_export.py
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import admin_token, fresh_database, serve_process

BIG_DEVICE = 200_000
SMALL_DEVICES, PER_SMALL = 80, 10_000


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def seed(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """INSERT INTO devices (device_id, serial_number, kind, model, batch)
               SELECT gen_random_uuid(), 'CSV-' || lpad(n::text, 5, '0'), 'standalone',
                      'CS-100', 'csv'
               FROM generate_series(0, $1) AS n""",
            SMALL_DEVICES,
        )
        big = await conn.fetchval("SELECT device_id FROM devices WHERE serial_number = 'CSV-00000'")
        await conn.execute(
            """INSERT INTO readings (device_id, sensor_type, ts, value)
               SELECT $1, 1, now() - make_interval(secs => n * 10), 20 + (n % 100) / 10.0
               FROM generate_series(1, $2) AS n""",
            big,
            BIG_DEVICE,
        )
        await conn.execute(
            """INSERT INTO readings (device_id, sensor_type, ts, value)
               SELECT d.device_id, 2, now() - make_interval(secs => n * 60), 50 + (n % 30)
               FROM devices d CROSS JOIN generate_series(1, $1) AS n
               WHERE d.device_id <> $2""",
            PER_SMALL,
            big,
        )
        await conn.execute("ANALYZE readings")
        return str(big)
    finally:
        await conn.close()


def stream(client: httpx.Client, pid: int, path: str, headers: dict[str, str]) -> None:
    baseline = rss_bytes(pid)
    rows, size = 0, 0
    started = time.perf_counter()
    with Sampler(pid) as sampler, client.stream("GET", path, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            rows += chunk.count(b"\n")
            size += len(chunk)
    elapsed = time.perf_counter() - started
    rows -= 1  # the header
    growth = (sampler.peak - baseline) / 2**20
    print(
        f"{path}: {rows:,} rows ({size / 2**20:.0f} MiB) in {elapsed:.1f} s = "
        f"{rows / elapsed:,.0f} rows/s; server RSS {baseline / 2**20:.0f} MiB idle, "
        f"peak growth {growth:+.1f} MiB"
    )


def main() -> None:
    with fresh_database() as url, serve_process(url, "--no-worker") as (base, process):
        token = admin_token(url)
        started = time.perf_counter()
        big = asyncio.run(seed(url))
        total = BIG_DEVICE + SMALL_DEVICES * PER_SMALL
        print(f"seeded {total:,} readings in {time.perf_counter() - started:.1f} s")
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=600) as client:
            # Warm up (imports, first queries) so the baseline is the steady idle state.
            client.get("/admin/v1/telemetry/export?batch=none", headers=auth).raise_for_status()
            stream(client, process.pid, "/admin/v1/telemetry/export", auth)
            stream(
                client,
                process.pid,
                f"/admin/v1/devices/{big}/telemetry",
                {**auth, "Accept": "text/csv"},
            )


if __name__ == "__main__":
    main()
