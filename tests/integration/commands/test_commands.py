"""Commands end to end (CONTRACT §4.3 and the operator rows of §5), real server and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from climasense.commands.jobs import PERIODIC_JOBS
from climasense.worker.runner import run_periodic_once
from tests.integration.commands.support import (
    ack,
    age,
    command,
    history,
    pending,
    send,
    send_ok,
)
from tests.support.errors import assert_error
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture
async def device(server: LiveServer, token: str) -> dict[str, Any]:
    [device] = await provision(server.client, token)
    return device


async def test_send_returns_the_command_with_a_24_hour_default_ttl(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    sent = await send_ok(server, token, device["device_id"], "reboot", payload={"delay_seconds": 5})
    uuid.UUID(sent["command_id"])
    assert sent["status"] == "pending"
    assert sent["payload"] == {"delay_seconds": 5}
    assert sent["device_id"] == device["device_id"]
    assert ts(sent["expires_at"]) - ts(sent["created_at"]) == timedelta(hours=24)
    short = await send_ok(server, token, device["device_id"], "diagnostics", ttl_seconds=90)
    assert short["payload"] == {}
    assert ts(short["expires_at"]) - ts(short["created_at"]) == timedelta(seconds=90)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "self_destruct"}, "type"),
        ({}, "type"),
        ({"type": "reboot", "ttl_seconds": 0}, "ttl_seconds"),
        ({"type": "reboot", "ttl_seconds": 86_401}, "ttl_seconds"),
        ({"type": "reboot", "ttl_seconds": 60.0}, "ttl_seconds"),
        ({"type": "reboot", "ttl_seconds": True}, "ttl_seconds"),
        ({"type": "reboot", "payload": [1]}, "payload"),
        ({"type": "reboot", "payload": {"blob": "x" * 70_000}}, "payload"),
        ({"type": "reboot", "priority": 1}, "priority"),
        ({"type": "config_update", "payload": {"timezone": "UTC"}}, "payload"),
    ],
)
async def test_send_validation(
    server: LiveServer, token: str, device: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    response = await send(server, token, device["device_id"], body)
    assert_error(response, 422, "validation_error")
    assert field in {d["field"] for d in response.json()["details"]}
    assert await history(server, token, device["device_id"]) == []


async def test_send_to_unknown_device_or_sensor(server: LiveServer, token: str) -> None:
    assert_error(await send(server, token, str(uuid.uuid4()), {"type": "reboot"}), 404, "not_found")
    assert_error(await send(server, token, "not-a-uuid", {"type": "reboot"}), 404, "not_found")
    [sensor] = await provision(server.client, token, kind="zigbee_sensor")
    response = await send(server, token, sensor["device_id"], {"type": "reboot"})
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("confirm", [None, "", "CS-ST-0000000", "wrong"])
async def test_factory_reset_needs_the_serial_number(
    server: LiveServer, token: str, device: dict[str, Any], confirm: str | None
) -> None:
    body: dict[str, Any] = {"type": "factory_reset"}
    if confirm is not None:
        body["confirm"] = confirm
    response = await send(server, token, device["device_id"], body)
    assert_error(response, 422, "confirmation_required")
    assert await history(server, token, device["device_id"]) == []
    assert await pending(server, device["api_key"]) == []


async def test_factory_reset_with_the_serial_number(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    sent = await send_ok(
        server, token, device["device_id"], "factory_reset", confirm=device["serial_number"]
    )
    assert [c["command_id"] for c in await pending(server, device["api_key"])] == [
        sent["command_id"]
    ]


async def test_pending_is_oldest_first_at_least_once_and_per_device(
    server: LiveServer, token: str
) -> None:
    mine, other = await provision(server.client, token, count=2)
    sent = [
        await send_ok(server, token, mine["device_id"], kind)
        for kind in ("reboot", "diagnostics", "reboot")
    ]
    await send_ok(server, token, other["device_id"], "reboot")
    response = await server.client.get("/v1/commands/pending", headers=bearer(mine["api_key"]))
    assert response.headers["RateLimit-Policy"].startswith('"commands_pending";q=30;')
    first = response.json()["commands"]
    assert [c["command_id"] for c in first] == [c["command_id"] for c in sent]
    assert set(first[0]) == {"command_id", "type", "payload", "expires_at"}
    assert first[0]["expires_at"] == sent[0]["expires_at"]
    # Fetched but not acknowledged: delivered again.
    assert await pending(server, mine["api_key"]) == first
    listed = await command(server, token, mine["device_id"], sent[0]["command_id"])
    assert listed["status"] == "delivered"
    assert listed["delivered_at"] is not None
    delivered_at = listed["delivered_at"]
    await pending(server, mine["api_key"])
    # delivered_at is the first fetch.
    listed = await command(server, token, mine["device_id"], sent[0]["command_id"])
    assert listed["delivered_at"] == delivered_at
    assert len(await pending(server, other["api_key"])) == 1


async def test_ack_lifecycle(server: LiveServer, token: str, device: dict[str, Any]) -> None:
    key = device["api_key"]
    sent = await send_ok(server, token, device["device_id"], "diagnostics")
    await pending(server, key)
    result = {"uptime_s": 3600, "nested": {"list": [1, 2.5, None, "x"]}}
    response = await ack(
        server, key, {"command_id": sent["command_id"], "status": "acked", "result": result}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["acknowledged"] is True
    first_time = ts(body["timestamp"])
    assert await pending(server, key) == []
    listed = await command(server, token, device["device_id"], sent["command_id"])
    assert listed["status"] == "acked"
    assert listed["result"] == result
    assert ts(listed["acked_at"]) == first_time
    assert listed["failed_at"] is None

    # The same answer again: 200, nothing changes (the first result is kept).
    again = await ack(
        server, key, {"command_id": sent["command_id"], "status": "acked", "result": {}}
    )
    assert again.status_code == 200
    assert ts(again.json()["timestamp"]) == first_time
    assert (await command(server, token, device["device_id"], sent["command_id"]))[
        "result"
    ] == result
    # A different answer after a final one: 409 conflict.
    response = await ack(server, key, {"command_id": sent["command_id"], "status": "failed"})
    assert_error(response, 409, "conflict")


async def test_failed_ack_stores_the_error_message(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    sent = await send_ok(server, token, device["device_id"], "reboot")
    response = await ack(
        server,
        device["api_key"],
        {"command_id": sent["command_id"], "status": "failed", "error_message": "busy"},
    )
    assert response.status_code == 200
    listed = await command(server, token, device["device_id"], sent["command_id"])
    assert (listed["status"], listed["error_message"]) == ("failed", "busy")
    assert listed["failed_at"] is not None
    assert listed["delivered_at"] is not None
    response = await ack(
        server, device["api_key"], {"command_id": sent["command_id"], "status": "acked"}
    )
    assert_error(response, 409, "conflict")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "acked"}, "command_id"),
        ({"command_id": "not-a-uuid", "status": "acked"}, "command_id"),
        ({"command_id": 5, "status": "acked"}, "command_id"),
        ({"command_id": "{id}", "status": "done"}, "status"),
        ({"command_id": "{id}"}, "status"),
        ({"command_id": "{id}", "status": "acked", "result": [1]}, "result"),
        ({"command_id": "{id}", "status": "acked", "result": "ok"}, "result"),
        ({"command_id": "{id}", "status": "acked", "result": {"x": "y" * 65_536}}, "result"),
        ({"command_id": "{id}", "status": "failed", "error_message": 3}, "error_message"),
    ],
)
async def test_ack_validation_changes_nothing(
    server: LiveServer, token: str, device: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    sent = await send_ok(server, token, device["device_id"], "reboot")
    body = {k: sent["command_id"] if v == "{id}" else v for k, v in body.items()}
    response = await ack(server, device["api_key"], body)
    assert_error(response, 422, "validation_error")
    assert field in {d["field"] for d in response.json()["details"]}
    assert (await command(server, token, device["device_id"], sent["command_id"]))[
        "status"
    ] == "pending"


async def test_result_of_exactly_64_kib_is_stored_one_byte_more_is_not(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    key = device["api_key"]
    sent = await send_ok(server, token, device["device_id"], "diagnostics")
    too_big = {"log": "z" * (64 * 1024 - 9)}  # {"log":"…"} is 10 bytes around the text
    response = await ack(
        server, key, {"command_id": sent["command_id"], "status": "acked", "result": too_big}
    )
    assert_error(response, 422, "validation_error")
    result = {"log": "z" * (64 * 1024 - 10)}
    response = await ack(
        server, key, {"command_id": sent["command_id"], "status": "acked", "result": result}
    )
    assert response.status_code == 200, response.text
    listed = await command(server, token, device["device_id"], sent["command_id"])
    assert listed["result"] == result


async def test_another_devices_command_is_404_like_an_unknown_one(
    server: LiveServer, token: str
) -> None:
    owner, intruder = await provision(server.client, token, count=2)
    sent = await send_ok(server, token, owner["device_id"], "reboot")
    await pending(server, owner["api_key"])
    foreign = await ack(
        server, intruder["api_key"], {"command_id": sent["command_id"], "status": "acked"}
    )
    unknown = await ack(
        server, intruder["api_key"], {"command_id": str(uuid.uuid4()), "status": "acked"}
    )
    assert_error(foreign, 404, "not_found")
    assert foreign.json() == unknown.json()
    assert foreign.headers.get("content-length") == unknown.headers.get("content-length")
    listed = await command(server, token, owner["device_id"], sent["command_id"])
    assert listed["status"] == "delivered"
    assert listed["acked_at"] is None
    assert [c["command_id"] for c in await pending(server, owner["api_key"])] == [
        sent["command_id"]
    ]


async def test_fetched_at_23_59_and_acked_at_24_01_is_expired(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    key = device["api_key"]
    sent = await send_ok(server, token, device["device_id"], "reboot")
    await age(server, sent["command_id"], 23 * 3600 + 59 * 60)
    assert [c["command_id"] for c in await pending(server, key)] == [sent["command_id"]]
    await age(server, sent["command_id"], 2 * 60)
    # Not returned any more, before the worker has marked anything.
    assert await pending(server, key) == []
    listed = await command(server, token, device["device_id"], sent["command_id"])
    assert listed["status"] == "expired"
    assert listed["expired_at"] == listed["expires_at"]
    response = await ack(server, key, {"command_id": sent["command_id"], "status": "acked"})
    assert_error(response, 409, "command_expired")
    response = await ack(server, key, {"command_id": sent["command_id"], "status": "acked"})
    assert_error(response, 409, "command_expired")
    listed = await command(server, token, device["device_id"], sent["command_id"])
    assert (listed["status"], listed["acked_at"]) == ("expired", None)


async def test_short_ttl_expires(server: LiveServer, token: str, device: dict[str, Any]) -> None:
    sent = await send_ok(server, token, device["device_id"], "reboot", ttl_seconds=1)
    await asyncio.sleep(1.1)
    assert await pending(server, device["api_key"]) == []
    response = await ack(
        server, device["api_key"], {"command_id": sent["command_id"], "status": "acked"}
    )
    assert_error(response, 409, "command_expired")


async def test_expiry_job_marks_only_commands_past_expiry(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    old = await send_ok(server, token, device["device_id"], "reboot")
    fresh = await send_ok(server, token, device["device_id"], "diagnostics")
    await age(server, old["command_id"], 24 * 3600 + 1)
    [job] = [j for j in PERIODIC_JOBS if j.name == "commands_expiry"]
    # The server's own worker may hold the job's lock for a moment (it runs the job at start).
    for _ in range(50):
        if await run_periodic_once(server.services, job):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the expiry job never got its lock")
    stored = dict(
        await server.services.pool.fetch(
            "SELECT command_id::text, status FROM commands WHERE device_id = $1::uuid",
            device["device_id"],
        )
    )
    assert stored == {old["command_id"]: "expired", fresh["command_id"]: "pending"}
    response = await server.client.post(
        f"/admin/v1/commands/{old['command_id']}/cancel", headers=bearer(token)
    )
    assert_error(response, 409, "command_expired")


async def test_cancel(server: LiveServer, token: str, device: dict[str, Any]) -> None:
    key = device["api_key"]
    sent = await send_ok(server, token, device["device_id"], "reboot")
    await pending(server, key)  # delivered, not answered: still cancellable
    url = f"/admin/v1/commands/{sent['command_id']}/cancel"
    response = await server.client.post(url, headers=bearer(token))
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "operator")
    assert cancelled["cancelled_at"] is not None
    assert await pending(server, key) == []
    response = await ack(server, key, {"command_id": sent["command_id"], "status": "acked"})
    assert_error(response, 409, "command_cancelled")
    again = await server.client.post(url, headers=bearer(token))
    assert again.status_code == 200
    assert again.json()["cancelled_at"] == cancelled["cancelled_at"]

    answered = await send_ok(server, token, device["device_id"], "reboot")
    await ack(server, key, {"command_id": answered["command_id"], "status": "acked"})
    response = await server.client.post(
        f"/admin/v1/commands/{answered['command_id']}/cancel", headers=bearer(token)
    )
    assert_error(response, 409, "conflict")
    for unknown in (str(uuid.uuid4()), "nope"):
        response = await server.client.post(
            f"/admin/v1/commands/{unknown}/cancel", headers=bearer(token)
        )
        assert_error(response, 404, "not_found")


async def test_history_pages_newest_first(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    sent = [await send_ok(server, token, device["device_id"], "reboot") for _ in range(5)]
    url = f"/admin/v1/devices/{device['device_id']}/commands"
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (await server.client.get(url, params=params, headers=bearer(token))).json()
        seen += [c["command_id"] for c in body["commands"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["command_id"] for c in reversed(sent)]
    response = await server.client.get(url, params={"cursor": "abc"}, headers=bearer(token))
    assert_error(response, 422, "validation_error")
    response = await server.client.get(
        f"/admin/v1/devices/{uuid.uuid4()}/commands", headers=bearer(token)
    )
    assert_error(response, 404, "not_found")


async def test_concurrent_different_answers_one_is_recorded(
    server: LiveServer, token: str, device: dict[str, Any]
) -> None:
    sent = await send_ok(server, token, device["device_id"], "reboot")
    responses = await asyncio.gather(
        *(
            ack(server, device["api_key"], {"command_id": sent["command_id"], "status": status})
            for status in ("acked", "failed", "acked", "failed")
        )
    )
    listed = await command(server, token, device["device_id"], sent["command_id"])
    winner = listed["status"]
    assert winner in {"acked", "failed"}
    for response, status in zip(responses, ("acked", "failed", "acked", "failed"), strict=True):
        if status == winner:
            assert response.status_code == 200, response.text
        else:
            assert_error(response, 409, "conflict")
