"""Test data made through the real API (or its services), never by writing rows by hand."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from climasense.audit import LOCAL_CLI
from climasense.auth.keys import KeyHasher
from climasense.devices import service as devices_service
from climasense.devices.service import ProvisionedDevice
from climasense.services import Services
from climasense.tokens.service import create_admin_token
from tests.support.workers import TEST_SECRET


async def admin_token(services: Services, name: str = "tests", role: str = "admin") -> str:
    return await create_admin_token(services.pool, services.hasher, name, role)


async def provision(
    client: httpx.AsyncClient,
    token: str,
    *,
    kind: str = "standalone",
    model: str = "CS-100",
    batch: str = "batch-a",
    count: int = 1,
) -> list[dict[str, Any]]:
    response = await client.post(
        "/admin/v1/devices",
        json={"kind": kind, "model": model, "batch": batch, "count": count},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    devices: list[dict[str, Any]] = response.json()["devices"]
    return devices


async def provision_in_database(
    pool: asyncpg.Pool, count: int, *, batch: str
) -> list[ProvisionedDevice]:
    """Standalone devices through the devices service (no server needed), their keys hashed
    under the tests' secret."""
    return await devices_service.provision(
        pool,
        KeyHasher(TEST_SECRET),
        kind="standalone",
        model="CS-100",
        batch=batch,
        count=count,
        operator=LOCAL_CLI,
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
