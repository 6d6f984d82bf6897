"""`GET /v1/hub/sensors` and `DELETE /v1/hub/sensors/{sensor_id}` against real PostgreSQL."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from tests.conftest import make_settings
from tests.integration.hub.pairing import (
    device_detail,
    hub_and_sensors,
    listed_sensor_ids,
    register,
)
from tests.support.errors import assert_error
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import LiveServer, live_server


async def test_a_new_hub_lists_no_sensors(server: LiveServer, token: str) -> None:
    [hub] = await provision(server.client, token, kind="hub")
    response = await server.client.get("/v1/hub/sensors", headers=bearer(hub["api_key"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"sensors": [], "next_cursor": None}
    assert "RateLimit" in response.headers


async def test_the_list_is_paged_in_pairing_order(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, hub_sensors_page_size=2)
    async with live_server(settings) as live:
        client, token = live.client, await admin_token(live.services)
        hub, sensors = await hub_and_sensors(client, token, sensors=5)
        # Register in an order other than provisioning, with an address on every other one.
        order = [sensors[i] for i in (3, 0, 4, 1, 2)]
        for n, sensor in enumerate(order):
            ieee = f"0x{n:016x}" if n % 2 == 0 else None
            assert (
                await register(client, hub["api_key"], sensor["api_key"], ieee)
            ).status_code == 201

        pages = []
        cursor: str | None = None
        for _ in range(10):
            params = {"cursor": cursor} if cursor else {}
            response = await client.get(
                "/v1/hub/sensors", params=params, headers=bearer(hub["api_key"])
            )
            assert response.status_code == 200, response.text
            pages.append(response.json()["sensors"])
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [2, 2, 1]
        listed = [s for page in pages for s in page]
        assert [s["sensor_id"] for s in listed] == [s["device_id"] for s in order]
        assert [s["serial_number"] for s in listed] == [s["serial_number"] for s in order]
        assert [s["ieee_address"] for s in listed] == [
            "0x0000000000000000",
            None,
            "0x0000000000000002",
            None,
            "0x0000000000000004",
        ]


async def test_an_invalid_cursor_is_422(server: LiveServer, token: str) -> None:
    [hub] = await provision(server.client, token, kind="hub")
    not_ours = [
        "garbage!",
        "",
        base64.urlsafe_b64encode(b'["yesterday", "x"]').decode(),
        base64.urlsafe_b64encode(
            b'["2024-01-01T00:00:00", "%s"]' % str(uuid.uuid4()).encode()
        ).decode(),  # naive time
        base64.urlsafe_b64encode(b"{}").decode(),
    ]
    for cursor in not_ours:
        response = await server.client.get(
            "/v1/hub/sensors", params={"cursor": cursor}, headers=bearer(hub["api_key"])
        )
        assert_error(response, 422, "validation_error")
        assert response.json()["details"][0]["field"] == "cursor"


async def test_each_hub_lists_only_its_own_sensors(server: LiveServer, token: str) -> None:
    client = server.client
    hub_a, [a1, a2] = await hub_and_sensors(client, token, sensors=2)
    hub_b, [b1] = await hub_and_sensors(client, token)
    for hub, sensor in ((hub_a, a1), (hub_b, b1), (hub_a, a2)):
        assert (await register(client, hub["api_key"], sensor["api_key"])).status_code == 201
    assert await listed_sensor_ids(client, hub_a["api_key"]) == [a1["device_id"], a2["device_id"]]
    assert await listed_sensor_ids(client, hub_b["api_key"]) == [b1["device_id"]]


async def test_unpairing_frees_the_sensor_for_another_hub(server: LiveServer, token: str) -> None:
    client = server.client
    hub_a, [sensor] = await hub_and_sensors(client, token)
    [hub_b] = await provision(client, token, kind="hub")
    assert (
        await register(client, hub_a["api_key"], sensor["api_key"], "0x00124b001cce5a7d")
    ).status_code == 201

    response = await client.delete(
        f"/v1/hub/sensors/{sensor['device_id']}", headers=bearer(hub_a["api_key"])
    )
    assert response.status_code == 204
    assert response.content == b""
    assert "RateLimit" in response.headers
    assert "RateLimit-Policy" in response.headers
    assert await listed_sensor_ids(client, hub_a["api_key"]) == []
    detail = await device_detail(client, token, sensor["device_id"])
    assert (detail["hub_id"], detail["ieee_address"], detail["paired_at"]) == (None, None, None)

    taken = await register(client, hub_b["api_key"], sensor["api_key"])
    assert taken.status_code == 201, taken.text
    assert taken.json()["sensor_id"] == sensor["device_id"]
    assert await listed_sensor_ids(client, hub_b["api_key"]) == [sensor["device_id"]]
    # The first hub no longer holds it: unpairing again is 404, registering is 409.
    again = await client.delete(
        f"/v1/hub/sensors/{sensor['device_id']}", headers=bearer(hub_a["api_key"])
    )
    assert_error(again, 404, "not_found")
    assert_error(
        await register(client, hub_a["api_key"], sensor["api_key"]),
        409,
        "sensor_already_registered",
    )
    assert (await device_detail(client, token, sensor["device_id"]))["hub_id"] == hub_b["device_id"]


async def test_another_hubs_sensor_looks_exactly_like_an_unknown_one(
    server: LiveServer, token: str
) -> None:
    client = server.client
    hub_a, [sensor] = await hub_and_sensors(client, token)
    hub_b, [unpaired] = await hub_and_sensors(client, token)
    [standalone] = await provision(client, token)
    assert (await register(client, hub_a["api_key"], sensor["api_key"])).status_code == 201

    ids = {
        "another hub's sensor": sensor["device_id"],
        "an unpaired sensor": unpaired["device_id"],
        "an unknown id": str(uuid.uuid4()),
        "not a UUID": "not-a-uuid",
        "a standalone device": standalone["device_id"],
        "the other hub itself": hub_a["device_id"],
        "the caller itself": hub_b["device_id"],
    }
    bodies = {}
    for label, sensor_id in ids.items():
        response = await client.delete(
            f"/v1/hub/sensors/{sensor_id}", headers=bearer(hub_b["api_key"])
        )
        assert_error(response, 404, "not_found")
        assert "RateLimit" in response.headers
        bodies[label] = response.json()
    assert len({str(sorted(b.items())) for b in bodies.values()}) == 1, bodies
    # The other hub's pairing is untouched.
    assert (await device_detail(client, token, sensor["device_id"]))["hub_id"] == hub_a["device_id"]
    assert await listed_sensor_ids(client, hub_a["api_key"]) == [sensor["device_id"]]
