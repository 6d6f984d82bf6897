"""`create_app(settings)`: the ASGI application and its lifespan.

The returned app is a thin dispatcher: `/v1/*` goes to the lean device router (the hot path),
everything else to FastAPI, which also runs the lifespan that builds the services
(`climasense.runtime`). Inside FastAPI, every path under `/admin/v1` is handed by prefix to the
operator API's own FastAPI app (`OperatorPrefix`, the first route to look at), so an operator
request is matched against the operator routes alone, never against the dashboard's, and the
rest (health, docs, `/openapi.json`, the dashboard) never against the operator's.
`/openapi.json` documents both apps' routes, as one API.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from climasense import __version__
from climasense.api.device_router import DeviceRouter
from climasense.api.device_routes import device_routes
from climasense.api.metrics_routes import router as metrics_router
from climasense.api.operator_routes import build_admin_router
from climasense.docs_ui import router as docs_router
from climasense.health import router as health_router
from climasense.http import errors as http_errors
from climasense.http.operator_guard import OperatorGuard
from climasense.http.security_headers import secure_send
from climasense.observability import metrics
from climasense.observability.requests import AccessLog, RequestObserver
from climasense.openapi import merge
from climasense.openapi_operator import operation_id
from climasense.runtime import build_services
from climasense.settings import Settings
from climasense.web.router import install as install_dashboard

log = logging.getLogger(__name__)


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
            # The device router adds the security headers to each of its responses itself.
            if self.device_router is None:  # built by the lifespan, before any request
                raise RuntimeError("the app's lifespan has not run")
            if self.observer is not None:
                await self.observer.device(self.device_router, scope, receive, send)
            else:
                await self.device_router(scope, receive, send)
            return
        if scope["type"] == "http":
            send = secure_send(scope, send)  # nosniff, HTML policy, no-store (CONTRACT §8)
        if self.observer is not None:
            await self.observer(scope, receive, send)
        else:
            await self.api(scope, receive, send)


OPERATOR_PREFIX = "/admin/v1"


class OperatorPrefix(BaseRoute):
    """A route of the outer FastAPI app that hands every path under `prefix` to `app` whole
    (path unchanged): the outer app's middleware and lifespan apply, its routes are not walked."""

    def __init__(self, prefix: str, app: FastAPI) -> None:
        self.prefix = prefix
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(self.prefix) and (
                len(path) == len(self.prefix) or path[len(self.prefix)] == "/"
            ):
                return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    run_migrations: bool = True,
    freeze_gc: bool = False,
    observe: bool = True,
) -> ClimaSenseApp:
    runtime = settings.runtime()  # the database URL is known before the app is built

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if observe:
            metrics.install()
        services = await build_services(runtime, run_migrations=run_migrations)
        api.state.services = services
        operator_api.state.services = services
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
        generate_unique_id_function=operation_id,  # readable operationIds (openapi_operator)
    )
    http_errors.install(api)
    operator_api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    http_errors.install(operator_api)
    operator_api.include_router(build_admin_router())
    api.router.routes.append(OperatorPrefix(OPERATOR_PREFIX, operator_api))
    api.add_middleware(OperatorGuard)  # operator auth and body cap before any body is read
    api.include_router(health_router)
    api.include_router(docs_router)
    api.include_router(metrics_router)
    install_dashboard(api)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            routes = [*api.routes, *operator_api.routes]
            generated = get_openapi(title=api.title, version=api.version, routes=routes)
            api.openapi_schema = merge(generated)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    wrapper = ClimaSenseApp(api, observe=observe, log_format=settings.log_format)
    return wrapper


def app_from_env() -> ClimaSenseApp:
    """Factory for `uvicorn --factory climasense.api.app:app_from_env` (one per worker process)."""
    return create_app(Settings.from_env(), freeze_gc=True)
