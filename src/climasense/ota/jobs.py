"""Background job: devices stuck in downloading…applying turn into failures with time alone,
so every active release is re-evaluated periodically, not only when a device reports."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import asyncpg

from climasense.background import PeriodicJob
from climasense.ota import releases

if TYPE_CHECKING:
    from climasense.services import Services

log = logging.getLogger(__name__)


async def evaluate_releases(services: Services, conn: asyncpg.Connection) -> None:
    for release_id in await releases.evaluate_all(conn, services.settings):
        log.warning("release %s paused automatically (failure threshold crossed)", release_id)


# Stuck thresholds are measured in hours; a minute of lag in noticing one is harmless.
EVALUATION_INTERVAL_SECONDS = 60.0


PERIODIC_JOBS = (
    PeriodicJob("ota-release-evaluation", EVALUATION_INTERVAL_SECONDS, evaluate_releases),
)
