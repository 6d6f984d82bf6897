"""Bulk jobs (CONTRACT §11) on a real server and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.commands.support import ack, history, pending
from tests.support.errors import assert_error
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


def unique() -> str:
    return "u" + uuid.uuid4().hex[:10]


async def create(server: LiveServer, token: str, body: dict[str, Any]) -> Any:
    return await server.client.post("/admin/v1/jobs", json=body, headers=bearer(token))


async def job(server: LiveServer, token: str, job_id: str) -> dict[str, Any]:
    response = await server.client.get(f"/admin/v1/jobs/{job_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def settings_of(server: LiveServer, token: str, device_id: str) -> dict[str, Any]:
    response = await server.client.get(
        f"/admin/v1/devices/{device_id}/settings", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_command_job_targets_are_fixed_and_counted(server: LiveServer, token: str) -> None:
    batch = unique()
    devices = await provision(server.client, token, batch=batch, count=3)
    response = await create(
        server, token, {"selector": {"batch": batch}, "command": {"type": "reboot"}}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["kind"] == "command"
    assert created["state"] == "active"
    assert created["target_count"] == 3
    # A device added to the batch later is not part of the job.
    [late] = await provision(server.client, token, batch=batch)
    assert await pending(server, late["api_key"]) == []
    shown = await job(server, token, created["job_id"])
    assert shown["target_count"] == 3
    assert shown["counts"] == {
        "queued": 3,
        "delivered": 0,
        "acked": 0,
        "failed": 0,
        "expired": 0,
        "cancelled": 0,
    }
    [first] = await pending(server, devices[0]["api_key"])
    assert first["type"] == "reboot"
    [second] = await pending(server, devices[1]["api_key"])
    response = await ack(
        server, devices[0]["api_key"], {"command_id": first["command_id"], "status": "acked"}
    )
    assert response.status_code == 200
    shown = await job(server, token, created["job_id"])
    assert shown["counts"]["acked"] == 1
    assert shown["counts"]["delivered"] == 1
    assert shown["counts"]["queued"] == 1
    # Cancel: every command not yet answered.
    response = await server.client.post(
        f"/admin/v1/jobs/{created['job_id']}/cancel", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "cancelled"
    assert response.json()["counts"] == {
        "queued": 0,
        "delivered": 0,
        "acked": 1,
        "failed": 0,
        "expired": 0,
        "cancelled": 2,
    }
    assert await pending(server, devices[1]["api_key"]) == []
    assert second["command_id"] in {
        c["command_id"] for c in await history(server, token, devices[1]["device_id"])
    }
    listed = await server.client.get("/admin/v1/jobs", params={"limit": 1}, headers=bearer(token))
    assert listed.status_code == 200
    assert listed.json()["jobs"][0]["job_id"] == created["job_id"]


async def test_jobs_list_pages(server: LiveServer, token: str) -> None:
    batch = unique()
    await provision(server.client, token, batch=batch)
    ids = []
    for _ in range(3):
        response = await create(
            server, token, {"selector": {"batch": batch}, "command": {"type": "diagnostics"}}
        )
        ids.append(response.json()["job_id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await server.client.get("/admin/v1/jobs", params=params, headers=bearer(token))
        assert page.status_code == 200, page.text
        seen += [j["job_id"] for j in page.json()["jobs"]]
        cursor = page.json()["next_cursor"]
        if cursor is None or set(ids) <= set(seen):
            break
    assert [i for i in seen if i in ids] == ids[::-1]
    bad = await server.client.get(
        "/admin/v1/jobs", params={"cursor": "nope"}, headers=bearer(token)
    )
    assert_error(bad, 422, "validation_error")


async def test_settings_job_changes_each_device_and_queues_its_config_update(
    server: LiveServer, token: str
) -> None:
    batch = unique()
    devices = await provision(server.client, token, batch=batch, count=2)
    before = await settings_of(server, token, devices[0]["device_id"])
    patch = {
        "reporting_interval_seconds": 900,
        "location": {"latitude": 10, "longitude": 20, "name": "Harbour"},
    }
    response = await create(server, token, {"selector": {"batch": batch}, "settings": patch})
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "settings"
    assert response.json()["target_count"] == 2
    for device in devices:
        document = await settings_of(server, token, device["device_id"])
        assert document["reporting_interval_seconds"] == 900
        assert document["location"] == {"latitude": 10.0, "longitude": 20.0, "name": "Harbour"}
        assert document["version"] == before["version"] + 1
        [command] = await pending(server, device["api_key"])
        assert command["type"] == "config_update"
        assert command["payload"] == document
    # A second job: a nested merge removes the name, and supersedes the unfetched update.
    response = await create(
        server,
        token,
        {
            "selector": {"device_ids": [devices[1]["device_id"]]},
            "settings": {"location": {"latitude": 1, "longitude": 2, "name": None}},
        },
    )
    assert response.status_code == 201, response.text
    document = await settings_of(server, token, devices[1]["device_id"])
    assert document["location"] == {"latitude": 1.0, "longitude": 2.0}
    # The first update was fetched (delivered) above, so it stays live next to the new one.
    commands = await pending(server, devices[1]["api_key"])
    assert commands[-1]["payload"] == document


async def test_a_settings_job_sets_sensors_and_timezone_and_removes_a_location(
    server: LiveServer, token: str
) -> None:
    batch = unique()
    devices = await provision(server.client, token, batch=batch, count=2)
    located = {"location": {"latitude": 10, "longitude": 20}}
    response = await create(server, token, {"selector": {"batch": batch}, "settings": located})
    assert response.status_code == 201, response.text
    before = await settings_of(server, token, devices[0]["device_id"])
    patch = {
        "enabled_sensors": ["iaq", "temperature"],
        "timezone": "America/Los_Angeles",
        "location": None,
    }
    response = await create(server, token, {"selector": {"batch": batch}, "settings": patch})
    assert response.status_code == 201, response.text
    for device in devices:
        document = await settings_of(server, token, device["device_id"])
        assert document == {
            **before,
            "enabled_sensors": ["iaq", "temperature"],
            "timezone": "America/Los_Angeles",
            "location": None,
            "version": before["version"] + 1,
        }


async def test_the_list_shows_each_job_as_its_own_page_does(server: LiveServer, token: str) -> None:
    # The list read the jobs' `cancelled` flag and their cancelled-command count under one
    # column name, and got the count for both: a job whose commands a later job superseded
    # was listed as cancelled, a cancelled one with no command left to cancel as completed.
    batch = unique()
    devices = await provision(server.client, token, batch=batch, count=2)
    superseded = await create(
        server, token, {"selector": {"batch": batch}, "settings": {"timezone": "Europe/Paris"}}
    )
    assert superseded.status_code == 201, superseded.text
    later = await create(
        server, token, {"selector": {"batch": batch}, "settings": {"timezone": "Europe/Oslo"}}
    )
    assert later.status_code == 201, later.text
    for device in devices:
        [command] = await pending(server, device["api_key"])
        response = await ack(
            server, device["api_key"], {"command_id": command["command_id"], "status": "acked"}
        )
        assert response.status_code == 200, response.text
    cancelled = await server.client.post(
        f"/admin/v1/jobs/{later.json()['job_id']}/cancel", headers=bearer(token)
    )
    assert cancelled.status_code == 200, cancelled.text
    shown = [await job(server, token, j.json()["job_id"]) for j in (superseded, later)]
    assert [(j["state"], j["counts"]["cancelled"]) for j in shown] == [
        ("completed", 2),
        ("cancelled", 0),
    ]
    listed = await server.client.get("/admin/v1/jobs", params={"limit": 2}, headers=bearer(token))
    assert listed.status_code == 200, listed.text
    assert listed.json()["jobs"] == shown[::-1]


@pytest.mark.parametrize(
    "body",
    [
        {"selector": {}, "command": {"type": "reboot"}},
        {"selector": {"tags_all": []}, "command": {"type": "reboot"}},
        {"command": {"type": "reboot"}},
        {"selector": {"batch": "B"}, "command": {"type": "factory_reset"}},
        {"selector": {"batch": "B"}, "command": {"type": "self_destruct"}},
        {"selector": {"batch": "B"}, "command": {"type": "reboot", "ttl_seconds": 0}},
        {"selector": {"batch": "B"}, "settings": {"reporting_interval_seconds": 5}},
        {"selector": {"batch": "B"}, "settings": {"timezone": "Mars/Base"}},
        {"selector": {"batch": "B"}, "settings": {"location": {"name": "only a name"}}},
        {"selector": {"batch": "B"}, "settings": {}},
        {"selector": {"batch": "B"}, "settings": {"version": 3}},
        {"selector": {"batch": "B"}, "command": {"type": "reboot"}, "settings": {}},
        {"selector": {"batch": "B"}},
        {"selector": {"tags_any": ["Not A Tag"]}, "command": {"type": "reboot"}},
    ],
)
async def test_a_refused_job_changes_nothing(
    server: LiveServer, token: str, body: dict[str, Any]
) -> None:
    batch = unique()
    [device] = await provision(server.client, token, batch=batch)
    if body.get("selector", {}).get("batch") == "B":
        body = {**body, "selector": {"batch": batch}}
    before = await settings_of(server, token, device["device_id"])
    jobs_before = (await server.client.get("/admin/v1/jobs", headers=bearer(token))).json()
    response = await create(server, token, body)
    assert_error(response, 422, response.json().get("error", "validation_error"))
    assert response.json()["error"] in {"validation_error", "confirmation_required"}
    assert await settings_of(server, token, device["device_id"]) == before
    assert await pending(server, device["api_key"]) == []
    jobs_after = (await server.client.get("/admin/v1/jobs", headers=bearer(token))).json()
    assert jobs_after["jobs"][:1] == jobs_before["jobs"][:1]


async def test_unknown_job_is_404(server: LiveServer, token: str) -> None:
    missing = str(uuid.uuid4())
    assert_error(
        await server.client.get(f"/admin/v1/jobs/{missing}", headers=bearer(token)),
        404,
        "not_found",
    )
    assert_error(
        await server.client.post(f"/admin/v1/jobs/{missing}/cancel", headers=bearer(token)),
        404,
        "not_found",
    )


async def test_config_update_job_resends_documents_and_skips_zigbee_sensors(
    server: LiveServer, token: str
) -> None:
    batch = unique()
    [device] = await provision(server.client, token, batch=batch)
    await provision(server.client, token, batch=batch, kind="zigbee_sensor")
    response = await create(
        server, token, {"selector": {"batch": batch}, "command": {"type": "config_update"}}
    )
    assert response.status_code == 201, response.text
    assert response.json()["target_count"] == 1
    [command] = await pending(server, device["api_key"])
    assert command["type"] == "config_update"
    assert command["payload"] == await settings_of(server, token, device["device_id"])
    refused = await create(
        server,
        token,
        {"selector": {"batch": batch}, "command": {"type": "config_update", "payload": {"x": 1}}},
    )
    assert_error(refused, 422, "validation_error")
