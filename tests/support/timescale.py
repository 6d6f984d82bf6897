"""TimescaleDB for the `timescale` tests: PGlite (PostgreSQL compiled to WASM) with the
TimescaleDB extension, served on a loopback port by `tools/pglite/server.mjs`.

PGlite is a single-connection database: clients must use one connection at a time (a pool
with max_size=1), `sslmode=disable`, any password. It never skips: without Node.js or the npm
packages the tests fail saying what to install (`scripts/test` installs both).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import free_port

PGLITE_DIR = Path(__file__).resolve().parents[2] / "tools" / "pglite"
START_TIMEOUT = 90.0


@contextmanager
def pglite_timescale() -> Iterator[str]:
    """Start the PGlite TimescaleDB server; yield its URL; stop it."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError(
            "The timescale tests need Node.js to run PGlite with TimescaleDB: install it "
            "(Debian: apt-get install nodejs npm), or run bash scripts/test which does."
        )
    if not (PGLITE_DIR / "node_modules" / "@unni-craftsman" / "pglite").is_dir():
        raise RuntimeError(
            f"PGlite with TimescaleDB is not installed in {PGLITE_DIR}: run "
            "`npm install --legacy-peer-deps` there (bash scripts/test does)."
        )
    port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="climasense-pglite-") as data_dir,
        tempfile.TemporaryFile(mode="w+") as log,
    ):
        process = subprocess.Popen(
            [node, "server.mjs", str(port), data_dir],
            cwd=PGLITE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                log.seek(0)
                output = log.read()
                if f"ready {port}" in output:
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PGlite TimescaleDB server did not start:\n{output}")
                time.sleep(0.2)
            yield f"postgresql://postgres:pglite@127.0.0.1:{port}/postgres?sslmode=disable"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
