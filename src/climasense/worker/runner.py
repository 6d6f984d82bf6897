"""Runs the registered jobs until cancelled.

A `PeriodicJob` runs every `interval` seconds in exactly one worker process of the whole
deployment at a time: each run takes a transaction-level advisory lock keyed by the job's name
(`pg_try_advisory_xact_lock`); a worker that does not get it skips that round. A `LoopJob` is a
coroutine that runs for the life of the worker (it does its own coordination, e.g. per-shard
locks) and is restarted after an unexpected error.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from climasense.background import LoopJob, PeriodicJob

if TYPE_CHECKING:
    from climasense.services import Services

log = logging.getLogger(__name__)


def job_lock_key(name: str) -> int:
    return zlib.crc32(f"climasense-job:{name}".encode())


async def run_periodic_once(services: Services, job: PeriodicJob) -> bool:
    """Run one round of `job` if no other worker is running it; say whether it ran."""
    async with services.pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", job_lock_key(job.name)):
            return False
        await job.run(services, conn)
        return True


async def _periodic(services: Services, job: PeriodicJob) -> None:
    while True:
        try:
            await run_periodic_once(services, job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed; retrying next round", job.name)
        await asyncio.sleep(job.interval)


async def _loop(services: Services, job: LoopJob) -> None:
    while True:
        try:
            await job.run(services)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("loop %s failed; restarting in 1 s", job.name)
            await asyncio.sleep(1)


def start_worker(
    services: Services, periodic_jobs: Iterable[PeriodicJob], loop_jobs: Iterable[LoopJob]
) -> None:
    for periodic in periodic_jobs:
        services.spawn(_periodic(services, periodic), f"job:{periodic.name}")
    for loop in loop_jobs:
        services.spawn(_loop(services, loop), f"loop:{loop.name}")
