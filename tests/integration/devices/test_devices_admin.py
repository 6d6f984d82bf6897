"""Operator device endpoints: provision, list with filters and pages, detail, revoke."""

from __future__ import annotations

import asyncio

from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


async def test_provision_returns_keys_once_with_unique_serials(
    server: LiveServer, token: str
) -> None:
    devices = await provision(
        server.client, token, kind="hub", model="CS-HUB", batch="prov", count=5
    )
    assert len({d["serial_number"] for d in devices}) == 5
    assert all(d["serial_number"].startswith("CS-HB-") for d in devices)
    assert all(d["api_key"].startswith("csd_") for d in devices)
    detail = await server.client.get(
        f"/admin/v1/devices/{devices[0]['device_id']}", headers=bearer(token)
    )
    assert detail.status_code == 200
    body = detail.json()
    assert "api_key" not in body
    assert "key_hash" not in body
    assert body["kind"] == "hub"
    assert body["status"] == "active"
    assert body["online"] is False


async def test_list_filters_and_paginates(server: LiveServer, token: str) -> None:
    batch = f"page-{id(server)}"
    made = await provision(server.client, token, batch=batch, count=7)
    await provision(server.client, token, batch=batch, kind="hub", count=2)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"batch": batch, "kind": "standalone", "limit": "3"}
        if cursor:
            params["cursor"] = cursor
        page = (
            await server.client.get("/admin/v1/devices", params=params, headers=bearer(token))
        ).json()
        seen += [d["device_id"] for d in page["devices"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [d["device_id"] for d in made]
    offline = await server.client.get(
        "/admin/v1/devices", params={"batch": batch, "online": "true"}, headers=bearer(token)
    )
    assert offline.json()["devices"] == []


async def test_bad_cursor_and_unknown_ids(server: LiveServer, token: str) -> None:
    bad = await server.client.get(
        "/admin/v1/devices", params={"cursor": "%%%"}, headers=bearer(token)
    )
    assert bad.status_code == 422
    for device_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        for method, path in (
            ("GET", f"/admin/v1/devices/{device_id}"),
            ("POST", f"/admin/v1/devices/{device_id}/revoke"),
            ("POST", f"/admin/v1/devices/{device_id}/rotate-key"),
        ):
            response = await server.client.request(method, path, headers=bearer(token))
            assert response.status_code == 404, (method, path)
            assert response.json()["error"] == "not_found"


async def test_revoked_key_is_refused_and_revoke_is_idempotent(
    server: LiveServer, token: str
) -> None:
    [device] = await provision(server.client, token)
    key = bearer(device["api_key"])
    assert (await server.client.get("/v1/settings", headers=key)).status_code == 200
    for _ in range(2):
        response = await server.client.post(
            f"/admin/v1/devices/{device['device_id']}/revoke", headers=bearer(token)
        )
        assert response.status_code == 200
    for _ in range(60):
        if (await server.client.get("/v1/settings", headers=key)).status_code == 401:
            break
        await asyncio.sleep(0.1)
    response = await server.client.get("/v1/settings", headers=key)
    assert response.status_code == 401
    detail = await server.client.get(
        f"/admin/v1/devices/{device['device_id']}", headers=bearer(token)
    )
    assert detail.json()["status"] == "revoked"


async def test_admin_api_requires_a_token(server: LiveServer) -> None:
    for headers in ({}, bearer("csa_nope")):
        response = await server.client.get("/admin/v1/devices", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
