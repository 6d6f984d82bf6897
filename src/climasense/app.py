"""`create_app(settings)`: the ASGI application and its lifespan.

The returned app is a thin dispatcher: `/v1/*` goes to the lean device router (the hot path),
everything else — operator API, health, docs, dashboard — to FastAPI, which also runs the
lifespan that opens the pool, migrates, and starts the background tasks.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from climasense import __version__
from climasense.admin.router import build_admin_router
from climasense.auth.cache import CredentialCache
from climasense.auth.keys import KeyHasher
from climasense.auth.service import Authenticator
from climasense.db.migrate import migrate
from climasense.db.pool import create_pool
from climasense.device_routes import device_routes
from climasense.docs_ui import router as docs_router
from climasense.errors import ConfigurationError
from climasense.health import router as health_router
from climasense.http import errors as http_errors
from climasense.http.device_api import DeviceRouter
from climasense.limits.factory import build_rate_limiter
from climasense.limits.failed_auth import FailedAuthThrottle
from climasense.observability import metrics
from climasense.observability.requests import AccessLog, RequestObserver
from climasense.observability.routes import router as metrics_router
from climasense.openapi import merge
from climasense.plugins import start_components
from climasense.services import Services
from climasense.settings import Settings
from climasense.web.router import install as install_dashboard

log = logging.getLogger(__name__)


async def build_services(settings: Settings, *, run_migrations: bool = True) -> Services:
    if settings.database_url is None:
        raise ConfigurationError(
            "create_app needs a database URL (the CLI starts the embedded one)"
        )
    pool = await create_pool(
        settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    try:
        if run_migrations:
            async with pool.acquire() as conn:
                await migrate(conn)
        hasher = KeyHasher(settings.resolved_secret_key())
        cache = CredentialCache(ttl=settings.auth_cache_seconds)
        await cache.poll_once(pool)
        rate_limiter = await build_rate_limiter(settings)
        throttle = FailedAuthThrottle(
            rate_limiter,
            settings.failed_auth_limit,
            trust_forwarded_for=settings.trust_forwarded_for,
        )
        services = Services(
            settings=settings,
            pool=pool,
            hasher=hasher,
            credential_cache=cache,
            authenticator=Authenticator(pool, hasher, cache, throttle),
            rate_limiter=rate_limiter,
        )
    except BaseException:
        await pool.close()
        raise
    services.spawn(
        cache.run_poller(pool, settings.revocation_poll_seconds), "credential-revocation-feed"
    )
    await start_components(services)
    return services


class ClimaSenseApp:
    """Dispatches `/v1/` to the device router and the rest to FastAPI."""

    def __init__(self, api: FastAPI, *, observe: bool = True, log_format: str = "text") -> None:
        self.api = api
        self.device_router: DeviceRouter | None = None
        self.state = api.state
        # Request id, access entry and HTTP metrics around both surfaces (CONTRACT §10).
        self.access_log = AccessLog(log_format) if observe else None
        self.observer = RequestObserver(api, self.access_log) if observe else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            if self.device_router is None:  # built by the lifespan, before any request
                raise RuntimeError("the app's lifespan has not run")
            if self.observer is not None:
                await self.observer.device(self.device_router, scope, receive, send)
            else:
                await self.device_router(scope, receive, send)
            return
        if self.observer is not None:
            await self.observer(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    run_migrations: bool = True,
    freeze_gc: bool = False,
    observe: bool = True,
) -> ClimaSenseApp:
    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if observe:
            metrics.install()
        services = await build_services(settings, run_migrations=run_migrations)
        api.state.services = services
        if observe:
            services.spawn(metrics.flush_forever(), "metrics-flush")
            if wrapper.access_log is not None:
                services.spawn(wrapper.access_log.flush_forever(), "access-log")
        wrapper.device_router = DeviceRouter(services, device_routes())
        if freeze_gc:
            # What exists now (modules, app, routes, pools) lives as long as the process: move
            # it out of the collector's generations, so the full collections that request
            # garbage triggers do not walk it again and again (~15% of a telemetry request's
            # CPU, bench/ingest.py). Not for apps built inside a longer-lived process (tests).
            gc.collect()
            gc.freeze()
        try:
            yield {}
        finally:
            await services.close()
            metrics.mark_process_dead()

    api = FastAPI(
        title="ClimaSense API",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served from package files by climasense.docs_ui, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    http_errors.install(api)
    api.include_router(health_router)
    api.include_router(docs_router)
    api.include_router(metrics_router)
    api.include_router(build_admin_router())
    install_dashboard(api)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            generated = get_openapi(title=api.title, version=api.version, routes=api.routes)
            api.openapi_schema = merge(generated)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    wrapper = ClimaSenseApp(api, observe=observe, log_format=settings.log_format)
    return wrapper


def app_from_env() -> ClimaSenseApp:
    """Factory for `uvicorn --factory climasense.app:app_from_env` (one per worker process)."""
    return create_app(Settings.from_env(), freeze_gc=True)
