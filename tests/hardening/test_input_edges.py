"""Inputs schemathesis found the server mishandling, pinned: U+0000 in JSON strings and in
query parameters (PostgreSQL stores it in neither `text` nor `jsonb`: was a 500), `null` for
optional fields whose schema has no null (was accepted), and a broken patch with a stale
`If-Match` (was 412, which sends the client to retry the same broken body)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.hardening.fleet import Fleet, build_fleet
from tests.support.factories import bearer
from tests.support.server import LiveServer

NUL = "\x00"


@pytest.fixture
async def fleet(server: LiveServer, token: str) -> Fleet:
    return await build_fleet(server.client, token)


def assert_422(response: httpx.Response, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == "validation_error"
    if field is not None:
        assert field in [d["field"] for d in body["details"]], body
    return body


async def test_nul_in_device_json_is_422_and_changes_nothing(
    server: LiveServer, fleet: Fleet
) -> None:
    client, key = server.client, bearer(fleet.device_key)
    before = (await client.get("/v1/settings", headers=key)).json()
    patch = {"location": {"latitude": 1, "longitude": 2, "name": f"berth{NUL}12"}}
    assert_422(await client.patch("/v1/settings", json=patch, headers=key), "location.name")
    assert (await client.get("/v1/settings", headers=key)).json() == before

    status = {"version": "1.3.0", "status": "failed", "error_message": f"bad{NUL}"}
    assert_422(await client.post("/v1/ota/status", json=status, headers=key), "error_message")
    keyed = {"version": "1.3.0", "status": "failed", f"x{NUL}": 1}
    assert_422(await client.post("/v1/ota/status", json=keyed, headers=key), "x\\u0000")

    hub = bearer(fleet.hub_key)
    body = {"sensor_api_key": f"css_{NUL}"}
    assert_422(await client.post("/v1/hub/sensors", json=body, headers=hub), "sensor_api_key")


async def test_an_escaped_backslash_u0000_is_ordinary_text(
    server: LiveServer, fleet: Fleet
) -> None:
    # The JSON text `\\u0000` is a backslash followed by "u0000", not a NUL: stored as sent.
    key = bearer(fleet.device_key)
    patch = {"location": {"latitude": 1, "longitude": 2, "name": "a\\u0000b"}}
    response = await server.client.patch("/v1/settings", json=patch, headers=key)
    assert response.status_code == 200, response.text
    assert response.json()["location"]["name"] == "a\\u0000b"


async def test_nul_in_an_ack_is_recorded_as_the_replacement_character(
    server: LiveServer, token: str, fleet: Fleet
) -> None:
    # Refusing an answer would leave the command live (executed again): it is stored instead.
    command_id = fleet.command_ids[1]
    ack = {
        "command_id": command_id,
        "status": "acked",
        "error_message": f"warn{NUL}ing",
        "result": {f"k{NUL}": [f"v{NUL}", 1]},
    }
    response = await server.client.post(
        "/v1/commands/ack", json=ack, headers=bearer(fleet.device_key)
    )
    assert response.status_code == 200, response.text
    history = await server.client.get(
        f"/admin/v1/devices/{fleet.device_id}/commands", headers=bearer(token)
    )
    [stored] = [c for c in history.json()["commands"] if c["command_id"] == command_id]
    assert stored["result"] == {"k\ufffd": ["v\ufffd", 1]}
    assert stored["error_message"] == "warn\ufffding"


async def test_nul_in_operator_json_and_query_is_422(server: LiveServer, token: str) -> None:
    admin = bearer(token)
    body = {"kind": "standalone", "model": f"m{NUL}", "batch": "b", "count": 1}
    assert_422(await server.client.post("/admin/v1/devices", json=body, headers=admin))
    listed = await server.client.get("/admin/v1/devices", params={"batch": NUL}, headers=admin)
    assert_422(listed)
    assert "Traceback" not in listed.text


async def test_null_for_optional_fields_without_null_in_the_schema_is_422(
    server: LiveServer, fleet: Fleet
) -> None:
    client, key = server.client, bearer(fleet.device_key)
    for field in ("error_message", "progress_percent"):
        body = {"version": "1.3.0", "status": "downloading", field: None}
        assert_422(await client.post("/v1/ota/status", json=body, headers=key), field)
    for field in ("error_message", "result"):
        body = {"command_id": fleet.command_ids[0], "status": "acked", field: None}
        assert_422(await client.post("/v1/commands/ack", json=body, headers=key), field)
    # Nothing was answered: the command is still pending.
    pending = (await client.get("/v1/commands/pending", headers=key)).json()["commands"]
    assert fleet.command_ids[0] in [c["command_id"] for c in pending]


async def test_a_broken_patch_is_422_even_with_a_stale_if_match(
    server: LiveServer, fleet: Fleet
) -> None:
    key = {**bearer(fleet.device_key), "If-Match": '"999"'}
    response = await server.client.patch("/v1/settings", json=[None, None], headers=key)
    assert_422(response, "body")
    fine = await server.client.patch(
        "/v1/settings", json={"reporting_interval_seconds": 120}, headers=key
    )
    assert fine.status_code == 412
