"""The composition root: every runtime component of a process, built in order in one place.

`build_services` is what the API's lifespan and `climasense worker` call: pool (and
migrations), credentials, limits, authenticator, ingest writer, blob store, webhook sender,
the settings side of config_updates, then the background tasks (revocation feed, writer loop)
and, when `run_worker`, the worker's jobs. Components a later one depends on are built first; closing runs in reverse
(`Services.close`).
"""

from __future__ import annotations

import contextlib

from climasense import pagination
from climasense.auth.cache import CredentialCache
from climasense.auth.keys import KeyHasher
from climasense.auth.service import Authenticator
from climasense.blobstore.factory import build_blob_store
from climasense.db.migrate import migrate
from climasense.db.pool import create_pool
from climasense.device_settings.service import SettingsConfigUpdates
from climasense.errors import ConfigurationError
from climasense.limits.factory import build_rate_limiter
from climasense.limits.failed_auth import FailedAuthThrottle
from climasense.ota import signing
from climasense.proxies import ProxyResolver
from climasense.services import Services
from climasense.settings import Settings
from climasense.telemetry import repository as telemetry_repository
from climasense.telemetry.writer import IngestWriter
from climasense.webhooks.sender import HttpxSender
from climasense.worker.jobs import LOOP_JOBS, PERIODIC_JOBS
from climasense.worker.runner import start_worker


def check_firmware_keys(public_keys: tuple[str, ...]) -> None:
    """Refuse unusable trusted keys at start, not at the first signed upload."""
    try:
        signing.TrustedKeys.parse(public_keys)
    except signing.SigningError as exc:
        raise ConfigurationError(
            f"CLIMASENSE_FIRMWARE_PUBLIC_KEYS: {exc} (give base64 Ed25519 public keys, "
            "comma-separated, as `climasense firmware keygen` writes to signing.pub)"
        ) from None


async def build_services(settings: Settings, *, run_migrations: bool = True) -> Services:
    settings = settings.runtime()  # refuses settings without a database URL
    check_firmware_keys(settings.firmware_public_keys)
    async with contextlib.AsyncExitStack() as undo:  # closes what was built if a step fails
        pool = await create_pool(
            settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        undo.push_async_callback(pool.close)
        if run_migrations:
            async with pool.acquire() as conn:
                await migrate(conn)
        hasher = KeyHasher(settings.resolved_secret_key())
        # Cursors are MAC'd under the server secret: a cursor this API did not issue is a 422.
        pagination.use_secret(settings.resolved_secret_key())
        cache = CredentialCache(ttl=settings.auth_cache_seconds)
        await cache.poll_once(pool)
        rate_limiter = await build_rate_limiter(settings)
        undo.push_async_callback(rate_limiter.close)
        proxies = ProxyResolver(settings.trusted_proxies)
        throttle = FailedAuthThrottle(
            rate_limiter,
            settings.failed_auth_limit,
            proxies=proxies,
            max_lookups=max(1, settings.db_pool_max),
        )
        ingest = IngestWriter(
            pool,
            engine=await telemetry_repository.storage_engine(pool),
            max_wait=settings.ingest_max_wait_ms / 1000,
            max_pending=settings.ingest_max_pending_readings,
            max_batch=settings.ingest_max_batch_readings,
            concurrency=settings.ingest_concurrency,
        )
        blob_store = await build_blob_store(settings)
        undo.push_async_callback(blob_store.close)
        webhook_sender = HttpxSender(
            settings.alerts.webhook_timeout_seconds,
            allow_private_networks=settings.webhook_allow_private_networks,
        )
        undo.push_async_callback(webhook_sender.close)
        services = Services(
            settings=settings,
            pool=pool,
            hasher=hasher,
            credential_cache=cache,
            rate_limiter=rate_limiter,
            failed_auth=throttle,
            authenticator=Authenticator(pool, hasher, cache, throttle),
            ingest=ingest,
            blob_store=blob_store,
            webhook_sender=webhook_sender,
            proxies=proxies,
            config_updates=SettingsConfigUpdates(),
        )
        undo.pop_all()
    # From here on `services.close()` undoes everything, in reverse order of registration.
    services.on_close(pool.close)
    services.on_close(rate_limiter.close)
    services.on_close(blob_store.close)
    services.on_close(webhook_sender.close)
    services.spawn(
        cache.run_poller(pool, settings.revocation_poll_seconds), "credential-revocation-feed"
    )
    services.spawn(ingest.run(), "ingest-writer")
    services.on_close(ingest.close)
    if settings.run_worker:  # last: the jobs use every component above
        start_worker(services, PERIODIC_JOBS, LOOP_JOBS)
    return services
