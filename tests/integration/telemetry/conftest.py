"""Fixtures for telemetry tests: devices made through the operator API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.factories import provision
from tests.support.server import LiveServer


@pytest.fixture
def make_device(server: LiveServer, token: str) -> Callable[..., Any]:
    async def make(kind: str = "standalone", count: int = 1) -> list[dict[str, Any]]:
        return await provision(server.client, token, kind=kind, count=count, batch="telemetry")

    return make


@pytest.fixture
async def device(make_device: Callable[..., Any]) -> dict[str, Any]:
    devices: list[dict[str, Any]] = await make_device()
    return devices[0]
