"""Operator settings changes become `config_update` commands; the device's ack records the
applied version (device detail)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.integration.commands.support import ack, history, pending, send_ok
from tests.support.errors import assert_error
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


@pytest.fixture
async def device(server: LiveServer, token: str) -> dict[str, Any]:
    [device] = await provision(server.client, token)
    return device


async def operator_patch(
    server: LiveServer, token: str, device_id: str, body: Any, if_match: str | None = None
) -> Any:
    headers = bearer(token) | ({"If-Match": if_match} if if_match else {})
    return await server.client.patch(
        f"/admin/v1/devices/{device_id}/settings", json=body, headers=headers
    )


async def detail(server: LiveServer, token: str, device_id: str) -> dict[str, Any]:
    response = await server.client.get(f"/admin/v1/devices/{device_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_operator_get_and_patch_follow_the_device_rules(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    url = f"/admin/v1/devices/{device['device_id']}/settings"
    response = await server.client.get(url, headers=bearer(token))
    assert response.status_code == 200
    before = response.json()
    assert response.headers["ETag"] == f'"{before["version"]}"'

    bad = await operator_patch(server, token, device["device_id"], {"timezone": "Nowhere"})
    assert_error(bad, 422, "validation_error")
    stale = await operator_patch(
        server, token, device["device_id"], {"timezone": "UTC"}, if_match='"999"'
    )
    assert_error(stale, 412, "precondition_failed")
    noop = await operator_patch(server, token, device["device_id"], {})
    assert noop.json() == before
    response = await server.client.patch(
        url,
        content=b'{"location": {"latitude": 1, "longitude": 2}}',
        headers={**bearer(token), "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == before["version"] + 1
    assert response.headers["ETag"] == f'"{before["version"] + 1}"'
    response = await server.client.patch(
        url, content=b"x", headers={**bearer(token), "Content-Type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")
    # Only the one real change queued a command.
    assert [c["type"] for c in await history(server, token, device["device_id"])] == [
        "config_update"
    ]
    for missing in (str(uuid.uuid4()), "nope"):
        assert_error(
            await operator_patch(server, token, missing, {"timezone": "UTC"}), 404, "not_found"
        )
        response = await server.client.get(
            f"/admin/v1/devices/{missing}/settings", headers=bearer(token)
        )
        assert_error(response, 404, "not_found")


async def test_operator_change_reaches_the_device_and_its_ack_records_the_version(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    key = device["api_key"]
    assert (await detail(server, token, device["device_id"]))["applied_settings_version"] is None
    response = await operator_patch(
        server, token, device["device_id"], {"reporting_interval_seconds": 120}
    )
    document = response.json()
    [queued] = await pending(server, key)
    assert queued["type"] == "config_update"
    assert queued["payload"] == document
    response = await ack(server, key, {"command_id": queued["command_id"], "status": "acked"})
    assert response.status_code == 200
    shown = await detail(server, token, device["device_id"])
    assert shown["applied_settings_version"] == document["version"]
    assert shown["settings_version"] == document["version"]
    # The device's own GET agrees with what the operator set.
    response = await server.client.get("/v1/settings", headers=bearer(key))
    assert response.json() == document


async def test_a_failed_config_update_records_nothing(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    await operator_patch(server, token, device["device_id"], {"timezone": "Asia/Tokyo"})
    [queued] = await pending(server, device["api_key"])
    await ack(server, device["api_key"], {"command_id": queued["command_id"], "status": "failed"})
    assert (await detail(server, token, device["device_id"]))["applied_settings_version"] is None


async def test_newer_change_supersedes_an_unfetched_config_update(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    key = device["api_key"]
    first = (
        await operator_patch(server, token, device["device_id"], {"timezone": "Asia/Tokyo"})
    ).json()
    second = (
        await operator_patch(
            server, token, device["device_id"], {"reporting_interval_seconds": 600}
        )
    ).json()
    assert second["version"] == first["version"] + 1
    [only] = await pending(server, key)
    assert only["payload"] == second
    newest, older = await history(server, token, device["device_id"])
    assert older["status"] == "cancelled"
    assert older["cancel_reason"] == "superseded"
    assert older["superseded_by"] == newest["command_id"] == only["command_id"]
    assert older["settings_version"] == first["version"]
    response = await ack(server, key, {"command_id": older["command_id"], "status": "acked"})
    assert_error(response, 409, "command_cancelled")

    # A fetched (delivered) one is not superseded: the device may be applying it.
    third = (await operator_patch(server, token, device["device_id"], {"timezone": "UTC"})).json()
    assert [c["payload"]["version"] for c in await pending(server, key)] == [
        second["version"],
        third["version"],
    ]
    # Acked out of order: the late ack of the older one never moves the applied version back.
    commands = await pending(server, key)
    for queued in reversed(commands):
        await ack(server, key, {"command_id": queued["command_id"], "status": "acked"})
    assert (await detail(server, token, device["device_id"]))["applied_settings_version"] == third[
        "version"
    ]


async def test_concurrent_operator_changes_leave_one_live_config_update(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    responses = await asyncio.gather(
        *(
            operator_patch(
                server, token, device["device_id"], {"reporting_interval_seconds": 60 + i}
            )
            for i in range(6)
        )
    )
    assert {r.status_code for r in responses} == {200}
    latest = max((r.json() for r in responses), key=lambda d: d["version"])
    [only] = await pending(server, device["api_key"])
    assert only["payload"] == latest


async def test_device_change_supersedes_unfetched_config_updates_and_counts_as_applied(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    key = device["api_key"]
    await operator_patch(server, token, device["device_id"], {"timezone": "Asia/Tokyo"})
    response = await server.client.patch(
        "/v1/settings", json={"reporting_interval_seconds": 900}, headers=bearer(key)
    )
    document = response.json()
    assert document["timezone"] == "Asia/Tokyo"  # it carries the operator's change too
    assert await pending(server, key) == []
    [superseded] = await history(server, token, device["device_id"])
    assert (superseded["status"], superseded["superseded_by"]) == ("cancelled", None)
    shown = await detail(server, token, device["device_id"])
    assert shown["applied_settings_version"] == document["version"]


async def test_config_update_command_resends_the_current_document(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    current = (
        await operator_patch(server, token, device["device_id"], {"timezone": "Europe/Rome"})
    ).json()
    resent = await send_ok(server, token, device["device_id"], "config_update")
    assert resent["payload"] == current
    assert resent["settings_version"] == current["version"]
    [only] = await pending(server, device["api_key"])
    assert only["command_id"] == resent["command_id"]


async def test_zigbee_sensor_settings_change_queues_nothing(server: LiveServer, token: str) -> None:
    [sensor] = await provision(server.client, token, kind="zigbee_sensor")
    response = await operator_patch(
        server, token, sensor["device_id"], {"reporting_interval_seconds": 1800}
    )
    assert response.status_code == 200
    assert await history(server, token, sensor["device_id"]) == []
