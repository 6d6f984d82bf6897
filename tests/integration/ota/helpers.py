"""Test data for OTA, made through the operator API."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.support.factories import bearer, provision


def new_model() -> str:
    return f"M-{secrets.token_hex(5)}"


async def upload(
    client: httpx.AsyncClient,
    token: str,
    model: str,
    version: str,
    data: bytes,
    notes: str | None = None,
) -> httpx.Response:
    params = {"release_notes": notes} if notes is not None else {}
    return await client.put(
        f"/admin/v1/firmware/{model}/{version}",
        content=data,
        params=params,
        headers={**bearer(token), "Content-Type": "application/octet-stream"},
    )


async def release(
    client: httpx.AsyncClient,
    token: str,
    model: str,
    version: str,
    batches: list[str],
    threshold: float | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"batches": batches}
    if threshold is not None:
        body["failure_threshold_percent"] = threshold
    response = await client.post(
        f"/admin/v1/firmware/{model}/{version}/releases", json=body, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def publish(
    client: httpx.AsyncClient,
    token: str,
    model: str,
    version: str,
    batches: list[str],
    data: bytes | None = None,
) -> dict[str, Any]:
    """Upload (a small image unless given) and release it."""
    response = await upload(client, token, model, version, data or f"fw {version}".encode())
    assert response.status_code == 201, response.text
    return await release(client, token, model, version, batches)


async def device_keys(
    client: httpx.AsyncClient, token: str, model: str, batch: str, count: int = 1
) -> list[str]:
    devices = await provision(client, token, model=model, batch=batch, count=count)
    return [d["api_key"] for d in devices]


async def check(client: httpx.AsyncClient, key: str, current: str) -> dict[str, Any]:
    response = await client.get(
        "/v1/ota/check", params={"current_version": current}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def report(
    client: httpx.AsyncClient, key: str, version: str, status: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/v1/ota/status", json={"version": version, "status": status, **extra}, headers=bearer(key)
    )
