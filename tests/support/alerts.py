"""Helpers for alert tests: rules and alerts through the operator API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.support.factories import bearer


async def create_rule(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "test rule", "severity": "warning", **fields}
    response = await client.post("/admin/v1/alert-rules", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()
    return rule


async def alerts_of(
    client: httpx.AsyncClient, token: str, *, rule_id: str, device_id: str | None = None
) -> list[dict[str, Any]]:
    """Every alert of a rule (optionally of a device), oldest opened first."""
    params = {"rule_id": rule_id, "limit": "1000"}
    if device_id is not None:
        params["device_id"] = device_id
    response = await client.get("/admin/v1/alerts", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    alerts: list[dict[str, Any]] = response.json()["alerts"]
    return sorted(alerts, key=lambda a: (a["opened_at"], a["alert_id"]))


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll an async predicate until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
