"""Throughput of the settings and command endpoints, as ratios to `GET /v1/settings`.

Starts `climasense serve` (one process, no worker, default settings: the contract's per-device
rate limits) on a throwaway database on the local PostgreSQL, provisions a fleet through the
operator API (--idle devices without commands, --busy devices with 3 live commands each, queued
by three bulk jobs), then drives each endpoint with a fixed concurrency for a few seconds, each
request the next device's in turn. The client shares the machine, so absolute numbers are
client-bound; the ratios say what each endpoint costs relative to the simplest authenticated
read.

No device goes over its limit (10 `GET /v1/settings`, 30 `GET /v1/commands/pending`, 60 of
anything else a minute): the bench counts every device's requests per limit over the whole run
and a phase stops early (it says so) when its devices have used their quota, so more devices
would be needed to fill its seconds. Any answer but the expected one (a 429 included) fails the
run.

    .venv/bin/python -m bench.commands [--seconds 5] [--concurrency 16] [--idle 2000] [--busy 1000]
"""

from __future__ import annotations

import argparse
import asyncio
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
from bench.common import ADMIN_URL, default_env, free_port
from climasense.settings import Settings

SECRET = secrets.token_urlsafe(48)
Device = dict[str, Any]
Take = Callable[[], tuple[Device, int] | None]


class Quota:
    """Hands out a group's devices in turn for one rate limit, never a device more than the
    limit's number of times in the whole run (so in no window either)."""

    def __init__(self, limits: dict[str, int], groups: dict[str, list[Device]]) -> None:
        self.limits = limits
        self.groups = groups
        self.used: dict[tuple[str, str], int] = {}  # (group, limit) -> requests so far

    def next(self, group: str, limit: str) -> tuple[Device, int] | None:
        """The next device of `group` and how many times it was used for `limit` before, or
        None when every device of the group has used up its quota."""
        devices = self.groups[group]
        done = self.used.get((group, limit), 0)
        if done >= len(devices) * self.limits[limit]:
            return None
        self.used[group, limit] = done + 1
        return devices[done % len(devices)], done // len(devices)

    def turns(self, group: str, limit: str, rounds: int | None = None) -> Take:
        """`next` for a phase; with `rounds`, only that many requests a device in this phase."""
        stop = (
            None
            if rounds is None
            else self.used.get((group, limit), 0) + rounds * len(self.groups[group])
        )

        def take() -> tuple[Device, int] | None:
            if stop is not None and self.used.get((group, limit), 0) >= stop:
                return None
            return self.next(group, limit)

        return take


async def drive(
    name: str,
    seconds: float,
    concurrency: int,
    take: Take,
    request: Callable[[Device, int], Awaitable[httpx.Response]],
    expect: int,
) -> float:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    ran_out = False

    async def worker() -> None:
        nonlocal ran_out
        while time.perf_counter() < deadline:
            turn = take()
            if turn is None:
                ran_out = True
                return
            started = time.perf_counter()
            response = await request(*turn)
            latencies.append(time.perf_counter() - started)
            if response.status_code != expect:
                raise RuntimeError(f"{name}: {response.status_code} {response.text[:200]}")

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    if not latencies:
        raise SystemExit(f"{name}: every device has used its quota already (more devices?)")
    rate = len(latencies) / elapsed
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"{name:42s} {rate:8.0f} req/s  p50 {statistics.median(latencies) * 1000:6.1f} ms"
        f"  p99 {p99:6.1f} ms"
        + (f"  (devices' turns used up after {elapsed:.1f} s)" if ran_out else "")
    )
    return rate


async def provision(
    client: httpx.AsyncClient, headers: dict[str, str], batch: str, count: int
) -> list[Device]:
    devices: list[Device] = []
    while len(devices) < count:
        response = await client.post(
            "/admin/v1/devices",
            json={
                "kind": "standalone",
                "model": "BENCH",
                "batch": batch,
                "count": min(1000, count - len(devices)),
            },
            headers=headers,
        )
        response.raise_for_status()
        devices += response.json()["devices"]
    return devices


async def main(seconds: float, concurrency: int, idle_count: int, busy_count: int) -> None:
    name = f"cs_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"CREATE DATABASE {name}")
    db_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    port = free_port()
    env = default_env(
        CLIMASENSE_DATABASE_URL=db_url,
        CLIMASENSE_SECRET_KEY=SECRET,
        CLIMASENSE_LOG_LEVEL="warning",
    )
    climasense = str(Path(sys.executable).parent / "climasense")
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
            idle = await provision(client, admin_headers, "idle", idle_count)
            busy = await provision(client, admin_headers, "busy", busy_count)
            limits = {rule: limit.limit for rule, limit in Settings().rate_limits.items()}
            quota = Quota(limits, {"idle": idle, "busy": busy})
            for kind in ("reboot", "diagnostics", "reboot"):
                job = await client.post(
                    "/admin/v1/jobs",
                    json={"selector": {"batch": "busy"}, "command": {"type": kind}},
                    headers=admin_headers,
                )
                job.raise_for_status()
                assert job.json()["target_count"] == busy_count, job.text

            def key(device: Device) -> dict[str, str]:
                return {"Authorization": f"Bearer {device['api_key']}"}

            turns = quota.turns
            # Warm up: every key into the credential cache (one request each), connections open.
            for group in ("idle", "busy"):
                await drive(
                    f"warm-up: each {group} device's first request", 600, concurrency,
                    turns(group, "commands_pending", rounds=1),
                    lambda device, _: client.get("/v1/commands/pending", headers=key(device)),
                    200,
                )  # fmt: skip
            print()
            base = await drive(
                "GET /v1/settings (baseline)", seconds, concurrency,
                turns("idle", "settings_get"),
                lambda device, _: client.get("/v1/settings", headers=key(device)), 200,
            )  # fmt: skip
            results = {
                "GET /v1/commands/pending (none live)": await drive(
                    "GET /v1/commands/pending (none live)", seconds, concurrency,
                    turns("idle", "commands_pending"),
                    lambda device, _: client.get("/v1/commands/pending", headers=key(device)),
                    200,
                ),
                "GET /v1/commands/pending (3 live)": await drive(
                    "GET /v1/commands/pending (3 live)", seconds, concurrency,
                    turns("busy", "commands_pending"),
                    lambda device, _: client.get("/v1/commands/pending", headers=key(device)),
                    200,
                ),
                # A device's n-th change (n < 60, its limit) sets 61 + n: never the value it has
                # (300 at first), so each PATCH is a change.
                "PATCH /v1/settings (a change each)": await drive(
                    "PATCH /v1/settings (a change each)", seconds, concurrency,
                    turns("idle", "default"),
                    lambda device, n: client.patch(
                        "/v1/settings",
                        json={"reporting_interval_seconds": 61 + n},
                        headers=key(device),
                    ),
                    200,
                ),
                "POST /v1/commands/ack (unknown id, 404)": await drive(
                    "POST /v1/commands/ack (unknown id, 404)", seconds, concurrency,
                    turns("idle", "default"),
                    lambda device, _: client.post(
                        "/v1/commands/ack",
                        json={"command_id": str(uuid.uuid4()), "status": "acked"},
                        headers=key(device),
                    ),
                    404,
                ),
            }  # fmt: skip
            again = await drive(
                "GET /v1/settings (baseline, again)", seconds, concurrency,
                turns("idle", "settings_get"),
                lambda device, _: client.get("/v1/settings", headers=key(device)), 200,
            )  # fmt: skip
            base = (base + again) / 2
            print()
            for label, rate in results.items():
                print(f"{label:42s} {rate / base:5.2f} x baseline")
            print(
                f"\n{idle_count} idle + {busy_count} busy devices on the default limits; every "
                "answer as expected (no 429)"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--idle", type=int, default=2000, help="devices without commands")
    parser.add_argument("--busy", type=int, default=1000, help="devices with 3 live commands")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency, args.idle, args.busy))
