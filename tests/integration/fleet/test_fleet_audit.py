"""The audit trail of fleet operations (CONTRACT §9, §11): job.create, job.cancel,
device.update, device.tag and release.update each leave exactly one entry naming the operator,
in the change's transaction; a refused change leaves none — on a real server."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.ota.helpers import new_model, upload
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import LiveServer


async def _entries(server: LiveServer, token: str, **params: Any) -> list[dict[str, Any]]:
    response = await server.client.get("/admin/v1/audit", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def _only(
    server: LiveServer, token: str, actor: str, action: str, target_id: str | None = None
) -> Any:
    params: dict[str, Any] = {"action": action, "actor_token_id": actor}
    if target_id is not None:
        params["target_id"] = target_id
    entries = await _entries(server, token, **params)
    assert len(entries) == 1, entries
    return entries[0]


async def test_each_fleet_operation_leaves_one_entry(server: LiveServer, token: str) -> None:
    operator = await admin_token(server.services, "fleet-op", "operator")
    me = (await server.client.get("/admin/v1/whoami", headers=bearer(operator))).json()
    auth = bearer(operator)
    client = server.client
    model = new_model()
    batch = "fa" + uuid.uuid4().hex[:8]
    devices = await provision(client, operator, batch=batch, model=model, count=3)
    device_id = devices[0]["device_id"]
    actor = {"token_id": me["token_id"], "name": "fleet-op", "role": "operator"}

    # device.update: tags, label and batch.
    response = await client.patch(
        f"/admin/v1/devices/{device_id}",
        json={"tags": ["sea", "canary"], "label": "Boat One", "batch": batch + "-b"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    entry = await _only(server, token, me["token_id"], "device.update", device_id)
    assert entry["actor"] == actor
    assert entry["target_type"] == "device"
    assert entry["details"] == {
        "tags": ["canary", "sea"],
        "label": "Boat One",
        "batch": batch + "-b",
    }

    # device.tag (bulk).
    selector = {"batch": batch}
    response = await client.post(
        "/admin/v1/devices/tags",
        json={"selector": selector, "add": ["north"], "remove": ["old"]},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"matched": 2}
    entry = await _only(server, token, me["token_id"], "device.tag")
    assert entry["actor"] == actor
    assert entry["details"] == {
        "selector": selector,
        "add": ["north"],
        "remove": ["old"],
        "matched": 2,
    }

    # job.create: a command job and a settings job; job.cancel.
    response = await client.post(
        "/admin/v1/jobs", json={"selector": selector, "command": {"type": "reboot"}}, headers=auth
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]
    entry = await _only(server, token, me["token_id"], "job.create", job_id)
    assert entry["actor"] == actor
    assert entry["target_type"] == "job"
    assert entry["details"] == {
        "kind": "command",
        "selector": selector,
        "target_count": 2,
        "command_type": "reboot",
    }
    response = await client.post(
        "/admin/v1/jobs",
        json={
            "selector": {"device_ids": [device_id]},
            "settings": {"reporting_interval_seconds": 900},
        },
        headers=auth,
    )
    assert response.status_code == 201, response.text
    settings_job = response.json()["job_id"]
    entry = await _only(server, token, me["token_id"], "job.create", settings_job)
    assert entry["details"] == {
        "kind": "settings",
        "selector": {"device_ids": [device_id]},
        "target_count": 1,
        "settings": {"reporting_interval_seconds": 900},
    }
    response = await client.post(f"/admin/v1/jobs/{job_id}/cancel", headers=auth)
    assert response.status_code == 200, response.text
    again = await client.post(f"/admin/v1/jobs/{job_id}/cancel", headers=auth)
    assert again.status_code == 200, again.text  # a no-op: still one entry
    entry = await _only(server, token, me["token_id"], "job.cancel", job_id)
    assert entry["actor"] == actor
    assert entry["target_type"] == "job"

    # release.update: percentage from → to.
    assert (await upload(client, operator, model, "2.0.0", b"fw")).status_code == 201
    response = await client.post(
        f"/admin/v1/firmware/{model}/2.0.0/releases",
        json={"batches": [batch], "percentage": 20},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    release_id = response.json()["release_id"]
    response = await client.patch(
        f"/admin/v1/releases/{release_id}", json={"percentage": 50}, headers=auth
    )
    assert response.status_code == 200, response.text
    same = await client.patch(
        f"/admin/v1/releases/{release_id}", json={"percentage": 50}, headers=auth
    )
    assert same.status_code == 200, same.text  # a no-op: still one entry
    entry = await _only(server, token, me["token_id"], "release.update", release_id)
    assert entry["actor"] == actor
    assert entry["target_type"] == "release"
    assert entry["details"] == {
        "model": model,
        "version": "2.0.0",
        "percentage": {"from": 20, "to": 50},
    }

    mine = await _entries(server, token, actor_token_id=me["token_id"])
    assert [e["action"] for e in reversed(mine)] == [
        "device.provision",
        "device.update",
        "device.tag",
        "job.create",
        "job.create",
        "job.cancel",
        "firmware.upload",
        "release.create",
        "release.update",
    ]


async def test_refused_fleet_changes_leave_no_entry(server: LiveServer, token: str) -> None:
    operator = await admin_token(server.services, "fleet-refused", "operator")
    me = (await server.client.get("/admin/v1/whoami", headers=bearer(operator))).json()
    auth = bearer(operator)
    client = server.client
    model = new_model()
    batch = "fr" + uuid.uuid4().hex[:8]
    [device] = await provision(client, operator, batch=batch, model=model)

    refusals = [
        # An empty selector, factory_reset, a bad settings patch: 422.
        await client.post(
            "/admin/v1/jobs", json={"selector": {}, "command": {"type": "reboot"}}, headers=auth
        ),
        await client.post(
            "/admin/v1/jobs",
            json={"selector": {"batch": batch}, "command": {"type": "factory_reset"}},
            headers=auth,
        ),
        await client.post(
            "/admin/v1/jobs",
            json={"selector": {"batch": batch}, "settings": {"reporting_interval_seconds": -1}},
            headers=auth,
        ),
        await client.post(f"/admin/v1/jobs/{uuid.uuid4()}/cancel", headers=auth),
        await client.patch(
            f"/admin/v1/devices/{device['device_id']}", json={"tags": ["Bad Tag"]}, headers=auth
        ),
        await client.patch(f"/admin/v1/devices/{uuid.uuid4()}", json={"label": "x"}, headers=auth),
        await client.post(
            "/admin/v1/devices/tags", json={"selector": {}, "add": ["x"]}, headers=auth
        ),
        await client.patch(
            f"/admin/v1/releases/{uuid.uuid4()}", json={"percentage": 50}, headers=auth
        ),
    ]
    assert [r.status_code for r in refusals] == [422, 422, 422, 404, 422, 404, 422, 404]

    # A release is never narrowed: 422, no release.update.
    assert (await upload(client, operator, model, "2.0.0", b"fw")).status_code == 201
    response = await client.post(
        f"/admin/v1/firmware/{model}/2.0.0/releases",
        json={"batches": [batch], "percentage": 40},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    release_id = response.json()["release_id"]
    narrowed = await client.patch(
        f"/admin/v1/releases/{release_id}", json={"percentage": 10}, headers=auth
    )
    assert narrowed.status_code == 422

    mine = await _entries(server, token, actor_token_id=me["token_id"])
    assert [e["action"] for e in reversed(mine)] == [
        "device.provision",
        "firmware.upload",
        "release.create",
    ]
