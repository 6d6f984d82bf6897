"""Fixtures for telemetry tests: devices made through the operator API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.support.factories import provision
from tests.support.server import LiveServer, live_server


@pytest.fixture
async def server(database_url: str, tmp_path: object) -> AsyncIterator[LiveServer]:
    """These tests read the alert outbox ingest writes: no in-process alert evaluator may
    consume it under them (tests that need the worker build their own server)."""
    async with live_server(make_settings(database_url, tmp_path, run_worker=False)) as live:
        yield live


@pytest.fixture
def make_device(server: LiveServer, token: str) -> Callable[..., Any]:
    async def make(kind: str = "standalone", count: int = 1) -> list[dict[str, Any]]:
        return await provision(server.client, token, kind=kind, count=count, batch="telemetry")

    return make


@pytest.fixture
async def device(make_device: Callable[..., Any]) -> dict[str, Any]:
    devices: list[dict[str, Any]] = await make_device()
    return devices[0]
