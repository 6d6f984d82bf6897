"""What PostgreSQL's backends wait on while `climasense serve` takes telemetry at half its
maximum rate: `.venv/bin/python bench/ingest_waits.py` (about 3 minutes; local PostgreSQL, wrk).

Starts `climasense serve` with default settings on a fresh database, provisions 9,000 devices,
measures the x10 maximum (as `serve_layout.py` does), then runs BENCH_RUNS (3) phases of
telemetry x10 at half that rate from independent devices (`ingest.lua` RATE: Poisson
arrivals). During each phase a separate connection samples `pg_stat_activity` every ~5 ms and
the script prints, next to wrk's p50/p99:
- what the ingest statement was doing in its samples (on CPU, or the wait event), and
- every backend seen busy for more than STALL_MS (25) in one statement, with the longest time
  and the wait event it was in then: the stalls behind the tail of the latency.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

# Run as a file (`python bench/x.py`): make `bench.*` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import admin_token, fresh_database, serve_process
from bench.ingest import ReadingClock
from bench.serve_layout import WARM_SECONDS
from bench.simulator import provision
from climasense.telemetry import repository

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# "name=value,…": settings for the bench database's sessions (ALTER DATABASE … SET), to try a
# PostgreSQL setting against the same load.
DATABASE_SETTINGS = os.environ.get("BENCH_DATABASE_SETTINGS", "")
STALL_MS = 25.0
DEVICES = 9000  # as serve_layout.py's steady phases: no device over the contract's limit
_SAMPLE = """
SELECT pid, backend_type, wait_event_type, wait_event,
       extract(epoch FROM clock_timestamp() - query_start) * 1000 AS busy_ms,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query
FROM pg_stat_activity
WHERE (datname = $1 OR datname IS NULL) AND state = 'active' AND pid <> pg_backend_pid()"""


class Sampler:
    """Samples of pg_stat_activity from a thread of its own, until `stop()`."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.samples: list[list[asyncpg.Record]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    async def _run(self) -> None:
        database = self.db_url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(self.db_url)
        try:
            while not self._stop.is_set():
                self.samples.append(await conn.fetch(_SAMPLE, database))
                await asyncio.sleep(0.005)
        finally:
            await conn.close()


# How both ingest statements begin, whitespace collapsed as `_SAMPLE` collapses it.
_INGEST_START = " ".join(repository.ingest_statement("partitioned").split())[:40]


def is_ingest(query: str | None) -> bool:
    return bool(query) and str(query).startswith(_INGEST_START)


def report(samples: list[list[asyncpg.Record]]) -> dict[str, Any]:
    ingest: Counter[str] = Counter()
    stalls: dict[tuple[int, str], tuple[float, str, str]] = {}
    for rows in samples:
        for row in rows:
            wait = f"{row['wait_event_type']}/{row['wait_event']}"
            if row["wait_event_type"] is None:
                wait = "on CPU"
            if is_ingest(row["query"]):
                ingest[wait] += 1
            busy = row["busy_ms"]
            if busy is not None and float(busy) > STALL_MS:
                key = (row["pid"], row["query"] or row["backend_type"])
                if key not in stalls or float(busy) > stalls[key][0]:
                    stalls[key] = (float(busy), wait, str(row["backend_type"]))
    return {"ingest": ingest, "stalls": stalls}


async def configure(db_url: str, settings: str) -> None:
    database = db_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(db_url)
    try:
        for setting in filter(None, settings.split(",")):
            name, value = setting.split("=", 1)
            await conn.execute(f"ALTER DATABASE {database} SET {name} = '{value}'")
    finally:
        await conn.close()


def main() -> None:
    with fresh_database() as db_url:
        asyncio.run(configure(db_url, DATABASE_SETTINGS))
        measure(db_url)


def measure(db_url: str) -> None:
    with serve_process(db_url) as (url, _proc):
        devices = provision(url, admin_token(db_url), DEVICES)
        keys = Path(tempfile.mkdtemp(prefix="climasense-waits-")) / "keys.txt"
        keys.write_text("".join(f"{d['api_key']} {d['device_id']}\n" for d in devices))
        clock = ReadingClock()
        clock.telemetry(url, keys, 10, seconds=WARM_SECONDS)  # every key cached
        maximum = clock.telemetry(url, keys, 10)["rps"]
        rate = round(maximum / 2)
        print(
            f"x10 maximum {maximum:.0f} req/s; {RUNS} phases of independent arrivals at {rate}"
            f"{'; database settings ' + DATABASE_SETTINGS if DATABASE_SETTINGS else ''}"
        )
        for run in range(RUNS):
            with Sampler(db_url) as sampler:
                result = clock.telemetry(url, keys, 10, RATE=rate)
            found = report(sampler.samples)
            total = sum(found["ingest"].values()) or 1
            shares = ", ".join(
                f"{wait} {100 * count / total:.0f} %"
                for wait, count in found["ingest"].most_common(6)
            )
            print(
                f"\nphase {run + 1}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.1f} ms, late {result['late']}, "
                f"{len(sampler.samples)} samples\n  ingest statement: {shares}"
            )
            for (pid, query), (busy, wait, kind) in sorted(
                found["stalls"].items(), key=lambda item: -item[1][0]
            )[:8]:
                print(f"  busy {busy:5.0f} ms  pid {pid} ({kind}), in {wait}: {query}")


if __name__ == "__main__":
    main()
