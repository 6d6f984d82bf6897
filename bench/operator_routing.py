"""Operator-side routing cost: `python bench/operator_routing.py [OLD_SRC]` (under a minute).

Starts the real server (one uvicorn process, as `climasense serve` runs it, default settings:
the operator API has no per-device limit to raise) on a fresh database of the PostgreSQL at
CLIMASENSE_BENCH_PG_URL, provisions 100 devices and measures with wrk (installed with apt-get
when missing; bench/status.lua counts the answers), on loopback:
  - an unmatched operator path (`GET /admin/v1/nope`, 404) req/s
  - `GET /admin/v1/devices?limit=100` req/s
Every answer must be the expected status (404, 200): the run fails otherwise (a 429 included).
With OLD_SRC (another checkout's `src`, e.g. the code before the prefix dispatch) the same is
measured for that code too, in the same run, the two servers interleaved phase by phase.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import default_env, free_port
from bench.ingest import wait_http

ROOT = Path(__file__).resolve().parents[1]
STATUS_LUA = ROOT / "bench" / "status.lua"
PG_URL = os.environ.get("CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
THREADS, CONNECTIONS = 2, 32
# phase: (path, the status every answer must have)
PHASES = {
    "operator 404": ("/admin/v1/nope", 404),
    "devices?limit=100": ("/admin/v1/devices?limit=100", 200),
}


def wrk(url: str, token: str, expect: int) -> float:
    out = subprocess.run(
        [
            *("wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{SECONDS}s"),
            *("-s", str(STATUS_LUA), "-H", f"Authorization: Bearer {token}", url),
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS + 60,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found, out
    statuses = {int(code): int(n) for code, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M)}
    if set(statuses) != {expect}:
        raise SystemExit(f"{url}: answers by status {statuses}, expected only {expect}")
    return float(found.group(1))


async def start(label: str, src: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    admin = await asyncpg.connect(PG_URL)
    name = f"cs_bench_{secrets.token_hex(4)}"
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    db_url = PG_URL.rsplit("/", 1)[0] + "/" + name
    secret = secrets.token_urlsafe(48)
    factory = (
        "climasense.api.app:app_from_env"
        if (src / "climasense" / "api" / "app.py").exists()
        else "climasense.app:app_from_env"
    )
    env = {
        **default_env(),
        "PYTHONPATH": str(src),
        "CLIMASENSE_DATABASE_URL": db_url,
        "CLIMASENSE_SECRET_KEY": secret,
        "CLIMASENSE_DATA_DIR": tempfile.mkdtemp(prefix="climasense-bench-"),
        "CLIMASENSE_RUN_WORKER": "0",
        "CLIMASENSE_LOG_LEVEL": "warning",
    }
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port)),
            *("--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"),
            *("--http", "climasense.http.protocol:CoalescingHttpToolsProtocol"),
        ],
        env=env,
        cwd=tempfile.gettempdir(),  # not this checkout: PYTHONPATH decides which code runs
    )
    base = f"http://127.0.0.1:{port}"
    await wait_http(base + "/healthz", server)
    from climasense.auth.keys import KeyHasher
    from climasense.db.pool import create_pool
    from climasense.tokens.service import create_admin_token

    pool = await create_pool(db_url, min_size=1, max_size=1)
    token = await create_admin_token(pool, KeyHasher(secret), "bench")
    await pool.close()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.post(
            "/admin/v1/devices",
            json={"kind": "standalone", "model": "CS-100", "batch": label, "count": 100},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        nope = await client.get("/admin/v1/nope", headers={"Authorization": f"Bearer {token}"})
        assert nope.status_code == 404, nope.text
    return server, base, token


async def main() -> None:
    if not shutil.which("wrk"):
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    variants = {"this": ROOT / "src"}
    if len(sys.argv) > 1:
        variants = {"before": Path(sys.argv[1]).resolve(), "after": ROOT / "src"}
    servers = {label: await start(label, src) for label, src in variants.items()}
    results: dict[tuple[str, str], list[float]] = {}
    try:
        for _ in range(ROUNDS):
            for phase, (path, expect) in PHASES.items():
                for label, (_, base, token) in servers.items():
                    rps = wrk(base + path, token, expect)
                    results.setdefault((phase, label), []).append(rps)
    finally:
        for server, _, _ in servers.values():
            server.terminate()
            server.wait(10)
    print(
        f"wrk -t{THREADS} -c{CONNECTIONS}, {SECONDS} s x {ROUNDS} rounds, 1 uvicorn process, "
        "default settings; every answer the expected status (no 429)"
    )
    for phase in PHASES:
        cells = [
            f"{label} {max(results[phase, label]):.0f} req/s"
            f" ({', '.join(f'{r:.0f}' for r in results[phase, label])})"
            for label in servers
        ]
        print(f"{phase:>20}: " + " | ".join(cells))


if __name__ == "__main__":
    asyncio.run(main())
