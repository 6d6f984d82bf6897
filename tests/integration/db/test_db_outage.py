"""The database going away under a running server: 503 + Retry-After (never 500, never a
leak), and recovery without a restart once it is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.conftest import make_settings
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import live_server
from tests.support.tcp_proxy import TcpProxy


async def test_outage_gives_503_then_recovers(database_url: str, tmp_path: Path) -> None:
    proxy = await TcpProxy.for_url(database_url).start()
    try:
        settings = make_settings(proxy.url_through(database_url), tmp_path)
        async with live_server(settings) as server:
            token = await admin_token(server.services)
            [device] = await provision(server.client, token)
            key = bearer(device["api_key"])
            assert (await server.client.get("/v1/settings", headers=key)).status_code == 200

            proxy.refuse = True
            proxy.reset_all()
            for path, headers in (
                ("/healthz", {}),
                ("/v1/settings", key),
                ("/admin/v1/devices", bearer(token)),
            ):
                response = await server.client.get(path, headers=headers)
                assert response.status_code == 503, (path, response.text)
                assert response.json()["error"] == "unavailable"
                assert int(response.headers["Retry-After"]) >= 1
                for leak in ("Traceback", "SELECT", "asyncpg", "password"):
                    assert leak not in response.text

            proxy.refuse = False
            back = time.monotonic()
            while (await server.client.get("/healthz")).status_code != 200:
                assert time.monotonic() - back < 10, "no recovery within 10 s"
                await asyncio.sleep(0.1)
            assert (await server.client.get("/v1/settings", headers=key)).status_code == 200
    finally:
        await proxy.stop()
