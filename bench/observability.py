"""Observability overhead: `python bench/observability.py` (about 2 minutes; local PostgreSQL).

Two real servers on one fresh database, started the same way (uvicorn, one process, the
CoalescingHttpToolsProtocol, gc frozen): **on** — the production app with /metrics in
multiprocess mode (PROMETHEUS_MULTIPROC_DIR), JSON logs at level info, so one access entry per
request, written to a file — and **off** — the same app built with `observe=False` (no request
observer, no metrics) and logs at warning. wrk drives telemetry x10 (bench/ingest.lua) against
each in alternating phases (on, off, on, off, …) and the script prints the server CPU per
request of each: the cost of metrics + access log is the difference.

Both servers run with the default settings users run, rate limits included (telemetry: 60
requests a minute per device): the load is spread over DEVICES devices, enough that none
reaches its limit (4 phases of 8 s a minute per server at up to ~18,000 req/s), and a phase
with any non-2xx answer (a 429 included) makes the run fail rather than print a figure. Each
server first answers one request from every device (not measured): the phases then measure
the steady state, every key in the credential cache, as with the 1,000 devices before.

BENCH_SRC (e.g. a checkout of main's `src`) runs both servers from that source tree instead of
this one, so main's code and a branch's are measured by the same script.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import free_port
from bench.ingest import CONNECTIONS, PG_URL, SECONDS, server_cpu_seconds, wait_http, wrk

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SRC = os.environ.get("BENCH_SRC", "")
# Requests per device and minute stay under the default telemetry limit (60) below ~17,000
# req/s: a server gets at most 4 x 8 s of load and the warm-up in any minute (BENCH_SECONDS=8).
DEVICES = 10_000
PROVISION_CHUNK = 10_000  # the operator API's largest batch


def app_without_observability() -> object:
    """uvicorn factory of the "off" server: the production app minus request observation."""
    from climasense.api.app import create_app
    from climasense.settings import Settings

    return create_app(Settings.from_env(), freeze_gc=True, observe=False)


def start(
    env: dict[str, str], factory: str, port: int, extra: list[str], log: Path
) -> subprocess.Popen[bytes]:
    with open(log, "wb") as output:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--no-server-header",
                "--no-proxy-headers",
                "--http",
                "climasense.http.protocol:CoalescingHttpToolsProtocol",
                *extra,
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )


async def warm_up(port: int, devices: list[dict[str, str]], now: int) -> None:
    """One telemetry request from every device (an older reading than any phase's), over
    CONNECTIONS keep-alive connections of a minimal HTTP/1.1 client: httpx needs ~1 ms of CPU
    a request, minutes for 20,000 requests on a busy machine."""
    at = datetime.fromtimestamp(now - 86 * 86400, UTC).isoformat()
    body = json.dumps(
        {"readings": [{"sensor_type": "temperature", "value": 21.5, "timestamp": at}]}
    ).encode()
    queue = iter(devices)
    failed: list[int] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for device in queue:
                writer.write(
                    b"POST /v1/telemetry HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json"
                    b"\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s"
                    % (device["api_key"].encode(), len(body), body)
                )
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                if status >= 300:
                    failed.append(status)
                    return  # the server may have closed this connection
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    if failed:
        raise SystemExit(f"warm-up of port {port}: non-2xx answers ({failed})")


async def main() -> None:
    from climasense.observability.logging import log_config

    admin = await asyncpg.connect(PG_URL)
    name = f"cs_bench_{secrets.token_hex(4)}"
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.execute(f"ALTER DATABASE {name} SET synchronous_commit = on")
    db_url = PG_URL.rsplit("/", 1)[0] + "/" + name
    workdir = Path(tempfile.mkdtemp(prefix="climasense-bench-obs-"))
    secret = secrets.token_urlsafe(48)
    root = str(Path(__file__).resolve().parents[1])
    # Default settings (rate limits included): nothing inherited from this shell.
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CLIMASENSE_")}
    base_env.update(
        PYTHONPATH=f"{SRC}:{root}" if SRC else root,
        CLIMASENSE_DATABASE_URL=db_url,
        CLIMASENSE_SECRET_KEY=secret,
        CLIMASENSE_DATA_DIR=str(workdir),
        CLIMASENSE_RUN_WORKER="0",
    )
    base_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir()
    config = workdir / "log.json"
    config.write_text(json.dumps(log_config("json", "info")))
    on_env = {
        **base_env,
        "CLIMASENSE_LOG_FORMAT": "json",
        "CLIMASENSE_LOG_LEVEL": "info",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    off_env = {**base_env, "CLIMASENSE_LOG_LEVEL": "warning"}
    on_port, off_port = free_port(), free_port()
    # The "off" server starts first and migrates; then "on".
    off = start(
        off_env,
        "bench.observability:app_without_observability",
        off_port,
        ["--log-level", "warning"],
        workdir / "off.log",
    )
    servers = [off]
    try:
        await wait_http(f"http://127.0.0.1:{off_port}/healthz", off)
        on = start(
            on_env,
            "climasense.api.app:app_from_env",
            on_port,
            ["--log-config", str(config)],
            workdir / "on.log",
        )
        servers.append(on)
        await wait_http(f"http://127.0.0.1:{on_port}/healthz", on)
        from climasense.auth.keys import KeyHasher
        from climasense.db.pool import create_pool
        from climasense.tokens.service import create_admin_token

        pool = await create_pool(db_url, min_size=1, max_size=1)
        token = await create_admin_token(pool, KeyHasher(secret), "bench")
        await pool.close()
        devices: list[dict[str, str]] = []
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{off_port}", timeout=300
        ) as client:
            while len(devices) < DEVICES:
                response = await client.post(
                    "/admin/v1/devices",
                    json={
                        "kind": "standalone",
                        "model": "CS-100",
                        "batch": "bench",
                        "count": min(PROVISION_CHUNK, DEVICES - len(devices)),
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                response.raise_for_status()
                devices += response.json()["devices"]
        keys_file = workdir / "keys.txt"
        keys_file.write_text("".join(f"{d['api_key']} {d['device_id']}\n" for d in devices))
        now = int(time.time())
        results: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
        phase = 0

        def drive(port: int, seconds: int) -> dict[str, Any]:
            nonlocal phase
            t0 = now - 85 * 86400 + phase * 86400  # a day apart: no reading repeats
            phase += 1
            run = wrk(
                f"http://127.0.0.1:{port}",
                "telemetry",
                seconds=seconds,
                READINGS=10,
                T0=t0,
                KEYS_FILE=keys_file,
            )
            if run["failed"] or run["non2xx"]:
                # A 429 means a device passed its limit: the phase measured something else.
                raise SystemExit(f"non-2xx answers in a phase: {run['failed']} ({run['non2xx']})")
            return run

        started = time.monotonic()
        await asyncio.gather(*(warm_up(port, devices, now) for port in (on_port, off_port)))
        print(
            f"warm-up: every device once on each server, {time.monotonic() - started:.0f} s",
            flush=True,
        )
        phases = (("on", on, on_port), ("off", off, off_port))
        for round_number in range(ROUNDS):
            # Alternate which goes first, so a drift in the machine's load does not always
            # fall on the same side.
            for label, server, port in phases if round_number % 2 == 0 else phases[::-1]:
                before = server_cpu_seconds(server.pid)
                run = drive(port, SECONDS)
                cpu = server_cpu_seconds(server.pid) - before
                requests = run["rps"] * SECONDS
                results[label].append((cpu * 1e6 / requests, run["rps"]))
                print(
                    f"{label:3} {run['rps']:6.0f} req/s, {cpu * 1e6 / requests:5.0f} µs CPU/request "
                    f"(p99 {run['p99_ms']:.1f} ms, all 2xx)",
                    flush=True,
                )
        access_lines = (workdir / "on.log").read_bytes().count(b"\n")
        async with httpx.AsyncClient() as client:
            scrape = (await client.get(f"http://127.0.0.1:{on_port}/metrics")).text
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in scrape.splitlines()
            if line.startswith('climasense_http_requests_total{method="POST",route="/v1/telemetry"')
        )
        limited = sum(
            float(line.rsplit(" ", 1)[1])
            for line in scrape.splitlines()
            if line.startswith("climasense_rate_limited_total")
        )
        if limited:
            raise SystemExit(f"the 'on' server refused {limited:.0f} requests with 429")
        on_cpu = sorted(c for c, _ in results["on"])[len(results["on"]) // 2]
        off_cpu = sorted(c for c, _ in results["off"])[len(results["off"]) // 2]
        # Each "on" phase against the "off" phase of the same round (run next to it): the
        # machine's load drifts.
        pairs = sorted(
            100 * (on_c - off_c) / off_c
            for (on_c, _), (off_c, _) in zip(results["on"], results["off"], strict=True)
        )
        print(f"paired differences: {', '.join(f'{d:+.1f} %' for d in pairs)}")
        print(
            f"\n== telemetry x10, server CPU per request (median of {ROUNDS} phases each): "
            f"metrics + access log on {on_cpu:.0f} µs, off {off_cpu:.0f} µs: "
            f"{100 * (on_cpu - off_cpu) / off_cpu:+.1f} %  "
            f"({access_lines} log lines and {counted:.0f} counted telemetry requests on the 'on' "
            f"server; {DEVICES} devices, default rate limits, every answer 2xx)"
        )
    finally:
        for server in servers:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
