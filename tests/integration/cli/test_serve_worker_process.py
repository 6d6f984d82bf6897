"""`climasense serve` runs the background worker as its own process beside the API (by default),
and stops it with itself; `--no-worker` runs none."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.support.processes import base_env, serve_process

pytestmark = pytest.mark.slow


def _children(pid: int) -> dict[int, str]:
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                found[int(stat.parent.name)] = cmdline.decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def _workers(pid: int) -> list[int]:
    return [p for p, cmd in _children(pid).items() if "climasense worker" in cmd]


def _gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_starts_one_worker_process_and_stops_it(
    database_url: str, tmp_path: Path, workers: str
) -> None:
    env = base_env(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=TEST_SECRET,
        CLIMASENSE_DATA_DIR=str(tmp_path),
    )
    with serve_process(env, "--workers", workers, log_path=tmp_path / "serve.log") as (_, proc):
        [worker] = _workers(proc.pid)
        # Requests come first: the worker runs at a lower CPU priority.
        assert int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[16]) > 0
    assert _gone(worker), "the worker process outlived serve"


def test_no_worker_starts_none(database_url: str, tmp_path: Path) -> None:
    env = base_env(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=TEST_SECRET,
        CLIMASENSE_DATA_DIR=str(tmp_path),
    )
    with serve_process(env, "--no-worker", log_path=tmp_path / "serve.log") as (_, proc):
        assert _workers(proc.pid) == []
