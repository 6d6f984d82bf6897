"""Redis for the tests: the server at CLIMASENSE_TEST_REDIS_URL (default 127.0.0.1:6379) when
it answers, else a throwaway `redis-server` on a free loopback port. Tests that kill Redis
always start their own. No redis-server binary is a clear failure, never a skip."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisProcess:
    """A `redis-server` of this test's own, which it may kill and start again (same port)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed (Debian: apt-get install redis-server); "
                "scripts/test installs it"
            )
        self._binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                *(self._binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers("127.0.0.1", self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            with suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
            self._process = None


@contextmanager
def redis_process() -> Iterator[RedisProcess]:
    process = RedisProcess()
    process.start()
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for tests that only read and write their own keys."""
    url = os.environ.get("CLIMASENSE_TEST_REDIS_URL", DEFAULT_URL)
    hostport = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if _answers(host or "127.0.0.1", int(port or 6379)):
        yield url
        return
    with redis_process() as process:
        yield process.url
