"""Helpers for the command tests: send, poll, ack, and move a command back in time."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.factories import bearer
from tests.support.server import LiveServer


async def send(
    server: LiveServer, token: str, device_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await server.client.post(
        f"/admin/v1/devices/{device_id}/commands", json=body, headers=bearer(token)
    )


async def send_ok(
    server: LiveServer, token: str, device_id: str, command_type: str = "reboot", **extra: Any
) -> dict[str, Any]:
    response = await send(server, token, device_id, {"type": command_type, **extra})
    assert response.status_code == 201, response.text
    command: dict[str, Any] = response.json()
    return command


async def pending(server: LiveServer, key: str) -> list[dict[str, Any]]:
    response = await server.client.get("/v1/commands/pending", headers=bearer(key))
    assert response.status_code == 200, response.text
    commands: list[dict[str, Any]] = response.json()["commands"]
    return commands


async def ack(server: LiveServer, key: str, body: dict[str, Any]) -> httpx.Response:
    return await server.client.post("/v1/commands/ack", json=body, headers=bearer(key))


async def history(server: LiveServer, token: str, device_id: str) -> list[dict[str, Any]]:
    response = await server.client.get(
        f"/admin/v1/devices/{device_id}/commands", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    commands: list[dict[str, Any]] = response.json()["commands"]
    return commands


async def command(
    server: LiveServer, token: str, device_id: str, command_id: str
) -> dict[str, Any]:
    [found] = [c for c in await history(server, token, device_id) if c["command_id"] == command_id]
    return found


async def age(server: LiveServer, command_id: str, seconds: float) -> None:
    """Move a command `seconds` into the past (as if created that much earlier): the clock the
    service uses is the database's now(), so this is how a test reaches hour 24."""
    await server.services.pool.execute(
        """UPDATE commands
           SET created_at = created_at - make_interval(secs => $2),
               expires_at = expires_at - make_interval(secs => $2),
               delivered_at = delivered_at - make_interval(secs => $2)
           WHERE command_id = $1::uuid""",
        command_id,
        float(seconds),
    )
