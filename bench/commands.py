"""Throughput of the settings and command endpoints, as ratios to `GET /v1/settings`.

Starts `climasense serve` (one process, no worker) on a throwaway database on the local
PostgreSQL, provisions devices, then drives each endpoint with a fixed concurrency for a few
seconds. The client shares the machine, so absolute numbers are client-bound; the ratios say
what each endpoint costs relative to the simplest authenticated read.

    .venv/bin/python -m bench.commands [--seconds 5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

# Run as a file (`python bench/x.py`): make `bench.common` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import default_env, free_port

ADMIN_URL = os.environ.get(
    "CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = secrets.token_urlsafe(48)


async def drive(
    name: str,
    seconds: float,
    concurrency: int,
    request: Callable[[int], Awaitable[httpx.Response]],
    expect: int,
) -> float:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await request(next(counter))
            latencies.append(time.perf_counter() - started)
            if response.status_code != expect:
                raise RuntimeError(f"{name}: {response.status_code} {response.text[:200]}")

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = len(latencies) / (time.perf_counter() - began)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"{name:42s} {rate:8.0f} req/s  p50 {statistics.median(latencies) * 1000:6.1f} ms"
        f"  p99 {p99:6.1f} ms"
    )
    return rate


async def main(seconds: float, concurrency: int) -> None:
    name = f"cs_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"CREATE DATABASE {name}")
    db_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    port = free_port()
    env = {
        **default_env(),
        "CLIMASENSE_DATABASE_URL": db_url,
        "CLIMASENSE_SECRET_KEY": SECRET,
        "CLIMASENSE_LOG_LEVEL": "warning",
        **{
            f"CLIMASENSE_LIMIT_{limit}": "100000000"
            for limit in ("SETTINGS_GET", "COMMANDS_PENDING", "DEFAULT")
        },
    }
    climasense = os.path.join(os.path.dirname(sys.executable), "climasense")
    server = subprocess.Popen([climasense, "serve", "--port", str(port), "--no-worker"], env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            token = subprocess.run(
                [climasense, "admin", "create-token", "--name", "bench"],
                env=env, check=True, capture_output=True, text=True,
            ).stdout.strip()  # fmt: skip
            admin_headers = {"Authorization": f"Bearer {token}"}
            response = await client.post(
                "/admin/v1/devices",
                json={"kind": "standalone", "model": "BENCH", "batch": "bench", "count": 64},
                headers=admin_headers,
            )
            devices: list[dict[str, Any]] = response.json()["devices"]
            idle, busy = devices[:32], devices[32:]
            for device in busy:
                for kind in ("reboot", "diagnostics", "reboot"):
                    await client.post(
                        f"/admin/v1/devices/{device['device_id']}/commands",
                        json={"type": kind},
                        headers=admin_headers,
                    )

            def key(group: list[dict[str, Any]], i: int) -> dict[str, str]:
                return {"Authorization": f"Bearer {group[i % len(group)]['api_key']}"}

            # Warm up: every key into the credential cache, connections opened.
            for i in range(len(devices) * 4):
                await client.get("/v1/settings", headers=key(devices, i))
            base = await drive(
                "GET /v1/settings (baseline)", seconds, concurrency,
                lambda i: client.get("/v1/settings", headers=key(idle, i)), 200,
            )  # fmt: skip
            results = {
                "GET /v1/commands/pending (none live)": await drive(
                    "GET /v1/commands/pending (none live)", seconds, concurrency,
                    lambda i: client.get("/v1/commands/pending", headers=key(idle, i)), 200,
                ),
                "GET /v1/commands/pending (3 live)": await drive(
                    "GET /v1/commands/pending (3 live)", seconds, concurrency,
                    lambda i: client.get("/v1/commands/pending", headers=key(busy, i)), 200,
                ),
                "PATCH /v1/settings (a change each)": await drive(
                    "PATCH /v1/settings (a change each)", seconds, concurrency,
                    lambda i: client.patch(
                        "/v1/settings",
                        json={"reporting_interval_seconds": 60 + i % 3000},
                        headers=key(idle, i),
                    ),
                    200,
                ),
                "POST /v1/commands/ack (unknown id, 404)": await drive(
                    "POST /v1/commands/ack (unknown id, 404)", seconds, concurrency,
                    lambda i: client.post(
                        "/v1/commands/ack",
                        json={"command_id": str(uuid.uuid4()), "status": "acked"},
                        headers=key(idle, i),
                    ),
                    404,
                ),
            }  # fmt: skip
            again = await drive(
                "GET /v1/settings (baseline, again)", seconds, concurrency,
                lambda i: client.get("/v1/settings", headers=key(idle, i)), 200,
            )  # fmt: skip
            base = (base + again) / 2
            print()
            for label, rate in results.items():
                print(f"{label:42s} {rate / base:5.2f} x baseline")
    finally:
        server.terminate()
        server.wait(timeout=30)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency))
