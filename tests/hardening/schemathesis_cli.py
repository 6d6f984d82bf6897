"""Runs the pinned schemathesis CLI against a live server, for the device and operator suites."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 240


async def run_schemathesis(
    schema: str, url: str, config: Path, reports: Path, extra: Sequence[str] = ()
) -> tuple[int, str]:
    """Exit code and output of `schemathesis run SCHEMA --url URL …` with a JSON report."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color"),
        *("run", schema, "--url", url, "--workers", "1", *extra),
        *("--report", "json", "--report-dir", str(reports)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=config.parent,  # its `.schemathesis/` cache goes there, not into the repository
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # for `hooks = "tests.hardening…"`
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")
