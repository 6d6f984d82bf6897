"""The runtime services of one process: every component, typed, built in order by the
composition root (`climasense.runtime.build_services`) and passed down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg

from climasense.settings import RuntimeSettings

if TYPE_CHECKING:
    # Types only: the components are built by `climasense.runtime`; importing them here would
    # make this container (named by every layer) depend on the domains at run time.
    from climasense.auth.cache import CredentialCache
    from climasense.auth.keys import KeyHasher
    from climasense.auth.service import Authenticator
    from climasense.blobstore.base import BlobStore
    from climasense.commands.service import ConfigUpdates
    from climasense.limits.base import RateLimiter
    from climasense.limits.failed_auth import FailedAuthThrottle
    from climasense.proxies import ProxyResolver
    from climasense.telemetry.writer import IngestWriter
    from climasense.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)


def _report_death(task: asyncio.Task[Any]) -> None:
    """A background task is meant to run for the life of the process: one that ends with an
    error would otherwise die silently (its exception is only looked at on close)."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background task %s died", task.get_name(), exc_info=exc)


@dataclass
class Services:
    settings: RuntimeSettings
    pool: asyncpg.Pool
    hasher: KeyHasher
    credential_cache: CredentialCache
    rate_limiter: RateLimiter
    failed_auth: FailedAuthThrottle
    authenticator: Authenticator
    ingest: IngestWriter
    blob_store: BlobStore
    webhook_sender: WebhookSender
    # The client's address and scheme behind trusted proxies (CONTRACT §8).
    proxies: ProxyResolver
    # The settings side of a config_update (device_settings), for commands.service.
    config_updates: ConfigUpdates
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        task.add_done_callback(_report_death)
        self._tasks.append(task)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer()
