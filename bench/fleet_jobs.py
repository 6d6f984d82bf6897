"""A bulk job over 100,000 devices: how long creating it takes (one set-based statement),
reading its progress, and cancelling it — against a real `climasense serve` process.

The devices are written straight into a fresh database with one INSERT … SELECT (provisioning
100k devices through the API is `bench/provision.py`'s subject, not this one's), tagged, then:

* `POST /admin/v1/jobs` with a `reboot` command for `tags_all: [bench]` (100k commands)
* `POST /admin/v1/jobs` with a settings patch for the same devices (100k new settings versions,
  100k superseding `config_update` commands)
* `GET /admin/v1/jobs/{id}` (counts from the commands) and `POST …/cancel`

    .venv/bin/python bench/fleet_jobs.py [--devices 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import admin_token, fresh_database, server


async def seed(url: str, count: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """INSERT INTO devices (device_id, serial_number, kind, model, batch, key_hash, tags)
               SELECT gen_random_uuid(), 'BENCH-' || lpad(n::text, 7, '0'), 'standalone',
                      'CS-100', 'bench', sha256(n::text::bytea), ARRAY['bench']
               FROM generate_series(1, $1) AS n""",
            count,
        )
        await conn.execute(
            """INSERT INTO device_settings (device_id, enabled_sensors) SELECT device_id,
               ARRAY['temperature'] FROM devices WHERE batch = 'bench'"""
        )
        await conn.execute("ANALYZE devices; ANALYZE device_settings; ANALYZE commands")
    finally:
        await conn.close()


def timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    args = parser.parse_args()
    with fresh_database() as url, server(url, "--no-worker") as base:
        token = admin_token(url)
        started = time.perf_counter()
        asyncio.run(seed(url, args.devices))
        print(f"seeded {args.devices:,} devices in {time.perf_counter() - started:.1f} s")
        headers = {"Authorization": f"Bearer {token}"}
        selector = {"tags_all": ["bench"]}
        with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
            seconds, job = timed(
                client,
                "POST",
                "/admin/v1/jobs",
                json={"selector": selector, "command": {"type": "reboot"}},
            )
            assert job["target_count"] == args.devices, job
            print(f"command job over {job['target_count']:,} devices created in {seconds:.2f} s")
            seconds, shown = timed(client, "GET", f"/admin/v1/jobs/{job['job_id']}")
            assert shown["counts"]["queued"] == args.devices, shown
            print(f"  progress (counts from {args.devices:,} commands) read in {seconds:.3f} s")
            seconds, cancelled = timed(client, "POST", f"/admin/v1/jobs/{job['job_id']}/cancel")
            assert cancelled["counts"]["cancelled"] == args.devices, cancelled
            print(f"  cancelled in {seconds:.2f} s")
            seconds, job = timed(
                client,
                "POST",
                "/admin/v1/jobs",
                json={"selector": selector, "settings": {"reporting_interval_seconds": 600}},
            )
            assert job["target_count"] == args.devices, job
            print(
                f"settings job over {job['target_count']:,} devices (new version + "
                f"config_update each) created in {seconds:.2f} s"
            )
            seconds, matched = timed(
                client,
                "POST",
                "/admin/v1/devices/tags",
                json={"selector": selector, "add": ["tagged"]},
            )
            print(f"bulk tag of {matched['matched']:,} devices in {seconds:.2f} s")


if __name__ == "__main__":
    main()
