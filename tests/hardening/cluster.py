"""Real `climasense serve` / `climasense worker` processes sharing one PostgreSQL (and Redis),
for the scale-out and process-fault tests. Every wait is bounded; every process is stopped."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from climasense.auth.keys import KeyHasher
from climasense.db.pool import create_pool
from climasense.settings import Settings
from climasense.tokens.service import create_admin_token
from tests.conftest import TEST_SECRET
from tests.support.processes import base_env, climasense_argv
from tests.support.server import free_port

HIGH = "1000000"


def cluster_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of one process; rate limits out of reach unless `extra` sets them."""
    env = base_env(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=TEST_SECRET,
        CLIMASENSE_DATA_DIR=str(data_dir),
        CLIMASENSE_DB_POOL_MIN="1",
        CLIMASENSE_DB_POOL_MAX="5",
        CLIMASENSE_FAILED_AUTH_LIMIT=HIGH,
        CLIMASENSE_LOG_LEVEL="warning",
    )
    for name in Settings().rate_limits:
        env[f"CLIMASENSE_LIMIT_{name.upper()}"] = HIGH
    env.update(extra)
    return env


async def operator_token(database_url: str) -> str:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        return await create_admin_token(pool, KeyHasher(TEST_SECRET), "hardening")
    finally:
        await pool.close()


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str | None = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@contextmanager
def spawn(name: str, argv: list[str], env: dict[str, str], log: Path) -> Iterator[Process]:
    with log.open("wb") as output:
        popen = subprocess.Popen(
            argv, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    process = Process(name, popen, log)
    try:
        yield process
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(30)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(10)


async def wait_healthy(process: Process, timeout: float = 60) -> None:
    assert process.url is not None
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=process.url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise AssertionError(f"{process.name} exited:\n{process.tail()}")
            with suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{process.name} not healthy within {timeout} s:\n{process.tail()}")


@asynccontextmanager
async def api_process(
    name: str, env: dict[str, str], logs: Path, port: int | None = None
) -> AsyncIterator[Process]:
    """`climasense serve --no-worker` on a free (or the given) port, healthy."""
    port = port or free_port()
    argv = climasense_argv("serve", "--port", str(port), "--no-worker")
    with spawn(name, argv, env, logs / f"{name}.log") as process:
        process.url = f"http://127.0.0.1:{port}"
        await wait_healthy(process)
        yield process


@contextmanager
def worker_process(env: dict[str, str], logs: Path) -> Iterator[Process]:
    with spawn("worker", climasense_argv("worker"), env, logs / "worker.log") as process:
        yield process
