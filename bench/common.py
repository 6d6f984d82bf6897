"""Shared plumbing for benchmarks: a fresh database on the local PostgreSQL and a real
`climasense serve` process against it. Benchmarks print figures; they are not tests."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import httpx

ADMIN_URL = os.environ.get(
    "CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-secret-" + "x" * 40


def default_env(**settings: str) -> dict[str, str]:
    """This process's environment without any CLIMASENSE_* variable, plus `settings`: a server
    started with it runs the defaults users run, whatever the caller's shell exports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIMASENSE_")}
    env.update(settings)
    return env


def _db_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"cs_bench_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE DATABASE {name}"))
    try:
        yield _db_url(name)
    finally:
        asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(database_url: str, *args: str, **env_extra: str) -> Iterator[str]:
    with serve_process(database_url, *args, **env_extra) as (url, _process):
        yield url


@contextmanager
def serve_process(
    database_url: str, *args: str, **env_extra: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`climasense serve ARGS` (default settings but the database URL and secret) on a free
    port: its URL and process, once /healthz answers. PYTHONPATH in `env_extra` runs another
    source tree (a baseline) with the same interpreter."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIMASENSE_")}
    env.update(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=SECRET,
        CLIMASENSE_LOG_LEVEL="warning",
        **env_extra,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "climasense", "serve", "--port", str(port), *args],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(30)


def admin_token(database_url: str, **env_extra: str) -> str:
    """An admin token from the CLI. Pass the server's `env_extra` (its tree's PYTHONPATH): the
    CLI migrates the database first, and another tree's migrations would change the schema
    under the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIMASENSE_")}
    env.update(CLIMASENSE_DATABASE_URL=database_url, CLIMASENSE_SECRET_KEY=SECRET, **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "climasense", "admin", "create-token", "--name", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def source_trees(baseline_label: str) -> list[tuple[str, str | None]]:
    """The trees a before/after bench runs: this one ("ours", the installed package), after
    `BENCH_BASELINE_SRC` under `baseline_label` when that is set (its `src`, run with the same
    interpreter through PYTHONPATH)."""
    trees: list[tuple[str, str | None]] = [("ours", None)]
    baseline = os.environ.get("BENCH_BASELINE_SRC", "")
    if baseline:
        trees.insert(0, (baseline_label, baseline))
    return trees


def tree_env(src: str | None) -> dict[str, str]:
    """The environment that runs the tree `src` of `source_trees` (none for the installed one)."""
    return {"PYTHONPATH": src} if src else {}
