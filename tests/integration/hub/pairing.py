"""Helpers for the hub tests: pairing through the real API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.factories import bearer, provision


async def hub_and_sensors(
    client: httpx.AsyncClient, token: str, sensors: int = 1
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    [hub] = await provision(client, token, kind="hub", model="CS-HUB")
    provisioned = await provision(client, token, kind="zigbee_sensor", model="CS-ZB", count=sensors)
    return hub, provisioned


async def register(
    client: httpx.AsyncClient, hub_key: str, sensor_key: str, ieee_address: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"sensor_api_key": sensor_key}
    if ieee_address is not None:
        body["ieee_address"] = ieee_address
    return await client.post("/v1/hub/sensors", json=body, headers=bearer(hub_key))


async def device_detail(client: httpx.AsyncClient, token: str, device_id: str) -> dict[str, Any]:
    response = await client.get(f"/admin/v1/devices/{device_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


async def listed_sensor_ids(client: httpx.AsyncClient, hub_key: str) -> list[str]:
    """Every sensor id the hub's list shows, following cursors (bounded)."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        params = {"cursor": cursor} if cursor is not None else {}
        response = await client.get("/v1/hub/sensors", params=params, headers=bearer(hub_key))
        assert response.status_code == 200, response.text
        page = response.json()
        ids.extend(s["sensor_id"] for s in page["sensors"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the sensor list never ended")
