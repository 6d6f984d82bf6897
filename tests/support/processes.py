"""Real `climasense` processes for multi-process tests (bounded waits, always cleaned up)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.server import free_port


def climasense_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "climasense", *args]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        climasense_argv(*args),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def create_token(env: dict[str, str], name: str, *options: str) -> str:
    """`climasense admin create-token` as an operator bootstraps one; the printed token."""
    done = run_cli("admin", "create-token", "--name", name, *options, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIMASENSE_")}
    env.update(extra)
    return env


def wait_healthy(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> float:
    """Seconds until GET /healthz answered 200; raises after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was healthy")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy within {timeout} s")


@contextmanager
def serve_process(
    env: dict[str, str], *args: str, log_path: Path | None = None, healthy_within: float = 90
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        climasense_argv("serve", "--port", str(port), *args),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, healthy_within, process)
        yield url, process
    finally:
        stop_process(process)
        if log_path:
            log.close()  # type: ignore[union-attr]


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode
