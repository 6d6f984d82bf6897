"""Background job: devices stuck in downloading…applying turn into failures with time alone,
so every active release is re-evaluated periodically, not only when a device reports."""

from __future__ import annotations

import logging

import asyncpg

from climasense.ota import releases
from climasense.services import Services
from climasense.worker.runner import PeriodicJob

log = logging.getLogger(__name__)


async def evaluate_releases(services: Services, conn: asyncpg.Connection) -> None:
    for release_id in await releases.evaluate_all(conn, services.settings):
        log.warning("release %s paused automatically (failure threshold crossed)", release_id)


# Stuck thresholds are measured in hours; a minute of lag in noticing one is harmless.
EVALUATION_INTERVAL_SECONDS = 60.0


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob("ota-release-evaluation", EVALUATION_INTERVAL_SECONDS, evaluate_releases)]
