"""Alert tests evaluate with `drain()` on a server without an in-process worker, so each test
decides exactly which readings are evaluated together."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import make_settings
from tests.support.factories import admin_token
from tests.support.server import LiveServer, live_server


@pytest.fixture
async def manual_server(database_url: str, tmp_path: object) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings(database_url, tmp_path, run_worker=False)) as live:
        yield live


@pytest.fixture
async def admin(manual_server: LiveServer) -> str:
    return await admin_token(manual_server.services)
