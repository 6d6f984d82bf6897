"""A fleet reconnecting after a restart: `python bench/reconnect.py` (about 3 minutes).

Every device's first request after `climasense serve` starts carries a key no process has
cached. Per variant (`BENCH_BASELINE_SRC` adds another source tree, run interleaved with this
one), on its own fresh database with `BENCH_DEVICES` provisioned devices, `BENCH_ROUNDS`
rounds of:
  start    `climasense serve --workers 2` as the README runs it (defaults), caches empty
  storm    every device sends one `GET /v1/settings`, 64 at once (aiohttp, in this process)
  again    the same, every key now cached in the process that answered it
  stop
CPU of the API processes and PostgreSQL from /proc (the bench database's backends and the
cluster's writers); a key miss costs (storm − again) ÷ devices. With two API processes a
device's second request may reach the process that has not seen it, so "again" still holds
some misses: the difference understates a miss's cost, equally for every variant.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp

# Run as a file (`python bench/reconnect.py`): make `bench.*` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import admin_token, fresh_database, serve_process, source_trees, tree_env
from bench.serve_layout import Parties
from bench.simulator import provision

DEVICES = int(os.environ.get("BENCH_DEVICES", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONCURRENCY = 64


async def every_device_once(url: str, keys: list[str]) -> dict[str, Any]:
    """One GET /v1/settings per key, CONCURRENCY at once: wall time, p99, statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = iter(keys)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(url, connector=connector) as session:

        async def client() -> None:
            for key in pending:
                started = time.perf_counter()
                async with session.get(
                    "/v1/settings", headers={"Authorization": f"Bearer {key}"}
                ) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "seconds": seconds,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "statuses": statuses,
    }


def measured(parties: Parties, url: str, keys: list[str]) -> dict[str, Any]:
    before = parties.now()
    result = asyncio.run(every_device_once(url, keys))
    time.sleep(0.5)  # the last answers' bookkeeping (access log flush) lands in this phase
    after = parties.now()
    result["api_us"] = (after[0] - before[0]) * 1e6 / len(keys)
    result["pg_us"] = (after[1] - before[1]) * 1e6 / len(keys)
    return result


def main() -> None:
    variants = source_trees("base")
    print(
        f"{DEVICES} devices reconnecting to `serve --workers 2`, {CONCURRENCY} at once, "
        f"{ROUNDS} rounds, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    with ExitStack() as stack:
        urls = {name: stack.enter_context(fresh_database()) for name, _ in variants}
        keys: dict[str, list[str]] = {}
        for name, src in variants:
            extra = tree_env(src)
            with serve_process(urls[name], **extra) as (url, _):
                devices = provision(url, admin_token(urls[name], **extra), DEVICES)
            keys[name] = [d["api_key"] for d in devices]
        results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
        for round_ in range(1, ROUNDS + 1):
            for name, src in variants:
                extra = tree_env(src)
                db_url = urls[name]
                with serve_process(db_url, "--workers", "2", **extra) as (url, process):
                    time.sleep(2)  # both API processes up
                    parties = Parties(process.pid, None, db_url.rsplit("/", 1)[1])
                    storm = measured(parties, url, keys[name])
                    again = measured(parties, url, keys[name])
                run = {
                    "storm": storm,
                    "again": again,
                    "miss_api_us": storm["api_us"] - again["api_us"],
                    "miss_pg_us": storm["pg_us"] - again["pg_us"],
                }
                results[name].append(run)
                print(
                    f"round {round_} {name}: storm {storm['seconds']:.2f} s, "
                    f"p99 {storm['p99_ms']:.1f} ms, API {storm['api_us']:.0f} µs/request, "
                    f"PostgreSQL {storm['pg_us']:.0f}; again {again['seconds']:.2f} s, "
                    f"p99 {again['p99_ms']:.1f} ms, API {again['api_us']:.0f}, "
                    f"PostgreSQL {again['pg_us']:.0f}; statuses {storm['statuses']} / "
                    f"{again['statuses']}",
                    flush=True,
                )

    def median(name: str, pick: Any) -> float:
        return statistics.median(pick(run) for run in results[name])

    print(
        "\n| variant | storm: seconds for every device once | storm p99, ms "
        "| API µs per request, storm / again | PostgreSQL µs per request, storm / again "
        "| a miss: API + PostgreSQL µs |"
    )
    print("|---|---|---|---|---|---|")
    for name, _ in variants:
        print(
            f"| {name} | {median(name, lambda r: r['storm']['seconds']):.2f} "
            f"| {median(name, lambda r: r['storm']['p99_ms']):.1f} "
            f"| {median(name, lambda r: r['storm']['api_us']):.0f} / "
            f"{median(name, lambda r: r['again']['api_us']):.0f} "
            f"| {median(name, lambda r: r['storm']['pg_us']):.0f} / "
            f"{median(name, lambda r: r['again']['pg_us']):.0f} "
            f"| {median(name, lambda r: r['miss_api_us'] + r['miss_pg_us']):.0f} |"
        )


if __name__ == "__main__":
    main()
