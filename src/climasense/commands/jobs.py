"""The worker job that marks commands past their expiry as expired.

Correctness does not wait for it (a command past `expires_at` is never returned as pending and
its ack is refused); it keeps the stored status, the history and the live index accurate.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import asyncpg

from climasense.background import PeriodicJob
from climasense.commands import service

if TYPE_CHECKING:
    from climasense.services import Services

log = logging.getLogger(__name__)

EXPIRY_INTERVAL_SECONDS = 30.0


async def expire_commands(_: Services, conn: asyncpg.Connection) -> None:
    expired = await service.expire_due(conn)
    if expired:
        log.info("marked %d commands expired", expired)


PERIODIC_JOBS = (PeriodicJob("commands_expiry", EXPIRY_INTERVAL_SECONDS, expire_commands),)
