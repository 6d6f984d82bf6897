"""`climasense worker` subprocesses against a test database (slow tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEST_SECRET = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"


def start_worker(database_url: str, data_dir: Path, **env: str) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"worker-{len(list(data_dir.glob('worker-*.log')))}.log"
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "climasense", "worker"],
            env={
                **os.environ,
                "CLIMASENSE_DATABASE_URL": database_url,
                "CLIMASENSE_SECRET_KEY": TEST_SECRET,
                "CLIMASENSE_DATA_DIR": str(data_dir),
                "CLIMASENSE_LOG_LEVEL": "warning",
                "CLIMASENSE_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
                "CLIMASENSE_ALERT_POLL_SECONDS": "0.05",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def stopping(*procs: subprocess.Popen[bytes]) -> Iterator[None]:
    """Make sure the workers this test started are gone when it ends."""
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
