"""A real HTTP server for tests: the production app under uvicorn, in this event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from climasense.api.app import ClimaSenseApp, create_app
from climasense.http.protocol import CoalescingHttpToolsProtocol
from climasense.services import Services
from climasense.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    app: ClimaSenseApp
    client: httpx.AsyncClient

    @property
    def services(self) -> Services:
        services: Services = self.app.api.state.services
        return services


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # as `climasense serve`: the app decides whom to trust
        # As `climasense serve`; and a request that never ends fails its test at shutdown
        # instead of hanging the whole run.
        timeout_graceful_shutdown=20,
        # As `climasense serve`: every HTTP test uses it, with the settings' read timeout.
        http=CoalescingHttpToolsProtocol.with_read_timeout(settings.request_read_timeout_seconds),
        limit_concurrency=settings.max_concurrent_connections,
        server_header=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during start-up")
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    try:
        # The client drops a connection idle for half the server's keep-alive timeout: at
        # httpx's default (5 s, the same as uvicorn's) a request sent on a connection idle for
        # ~5 s could meet the server closing it (a ReadError in CI after a 4.9 s pause).
        limits = httpx.Limits(keepalive_expiry=config.timeout_keep_alive / 2)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            yield LiveServer(url, app, client)
    finally:
        server.should_exit = True
        await task
