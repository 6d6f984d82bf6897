"""`POST /v1/hub/sensors` against real PostgreSQL (CONTRACT §4.5)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from climasense.auth.keys import KeyKind, generate_key
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

IEEE = "0x00124b001cce5a7d"


async def test_a_hub_registers_a_sensor_and_registering_again_is_200(
    server: LiveServer, token: str
) -> None:
    client = server.client
    hub, [sensor] = await hub_and_sensors(client, token)

    first = await register(client, hub["api_key"], sensor["api_key"], IEEE)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "registered": True,
        "sensor_id": sensor["device_id"],
        "serial_number": sensor["serial_number"],
    }
    assert "RateLimit" in first.headers
    assert "RateLimit-Policy" in first.headers

    new_ieee = "0x00124B001CCE5A7E"
    again = await register(client, hub["api_key"], sensor["api_key"], new_ieee)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert (await device_detail(client, token, sensor["device_id"]))["ieee_address"] == new_ieee

    # Without an address the one on record stays.
    third = await register(client, hub["api_key"], sensor["api_key"])
    assert third.status_code == 200, third.text
    assert third.json()["sensor_id"] == sensor["device_id"]
    assert (await device_detail(client, token, sensor["device_id"]))["ieee_address"] == new_ieee


async def test_without_an_ieee_address(server: LiveServer, token: str) -> None:
    hub, [sensor] = await hub_and_sensors(server.client, token)
    response = await register(server.client, hub["api_key"], sensor["api_key"])
    assert response.status_code == 201, response.text
    page = (await server.client.get("/v1/hub/sensors", headers=bearer(hub["api_key"]))).json()
    assert page["sensors"] == [
        {
            "sensor_id": sensor["device_id"],
            "serial_number": sensor["serial_number"],
            "ieee_address": None,
        }
    ]


async def test_operator_sees_the_pairing_from_both_sides(server: LiveServer, token: str) -> None:
    client = server.client
    hub, sensors = await hub_and_sensors(client, token, sensors=2)
    for sensor in sensors:
        assert (await register(client, hub["api_key"], sensor["api_key"], IEEE)).status_code == 201

    hub_view = await device_detail(client, token, hub["device_id"])
    assert [s["sensor_id"] for s in hub_view["sensors"]] == [s["device_id"] for s in sensors]
    assert [s["serial_number"] for s in hub_view["sensors"]] == [
        s["serial_number"] for s in sensors
    ]
    assert all(s["ieee_address"] == IEEE and s["paired_at"] for s in hub_view["sensors"])

    sensor_view = await device_detail(client, token, sensors[0]["device_id"])
    assert sensor_view["hub_id"] == hub["device_id"]
    assert sensor_view["hub_serial_number"] == hub["serial_number"]
    assert sensor_view["paired_at"] is not None
    assert sensor_view["ieee_address"] == IEEE


async def test_non_hubs_are_forbidden_on_every_hub_path(server: LiveServer, token: str) -> None:
    [standalone] = await provision(server.client, token)
    _, [sensor] = await hub_and_sensors(server.client, token)
    key = standalone["api_key"]
    for response in (
        await register(server.client, key, sensor["api_key"]),
        await server.client.get("/v1/hub/sensors", headers=bearer(key)),
        await server.client.delete(f"/v1/hub/sensors/{sensor['device_id']}", headers=bearer(key)),
    ):
        assert_error(response, 403, "forbidden")
        assert response.json()["message"] == "Only hub devices can call this endpoint"
        assert "RateLimit" in response.headers
    # The refused attempt paired nothing.
    assert (await device_detail(server.client, token, sensor["device_id"]))["hub_id"] is None


async def test_a_sensor_key_is_forbidden_on_hub_paths(server: LiveServer, token: str) -> None:
    _, [sensor, other] = await hub_and_sensors(server.client, token, sensors=2)
    key = sensor["api_key"]
    for response in (
        await register(server.client, key, other["api_key"]),
        await server.client.get("/v1/hub/sensors", headers=bearer(key)),
    ):
        assert_error(response, 403, "forbidden")


async def test_keys_that_are_not_sensor_keys_are_invalid_sensor_key(
    server: LiveServer, token: str
) -> None:
    client = server.client
    hub, [revoked, paired_elsewhere] = await hub_and_sensors(client, token, sensors=2)
    [other_hub] = await provision(client, token, kind="hub")
    [standalone] = await provision(client, token)
    revoke = await client.post(
        f"/admin/v1/devices/{revoked['device_id']}/revoke", headers=bearer(token)
    )
    assert revoke.status_code == 200, revoke.text

    wrong_keys = {
        "unknown sensor key": generate_key(KeyKind.SENSOR),
        "revoked sensor key": revoked["api_key"],
        "the hub's own key": hub["api_key"],
        "another hub's key": other_hub["api_key"],
        "a standalone device's key": standalone["api_key"],
        "an operator token": token,
        "malformed": "csz_not-a-key",
        "empty": "",
    }
    for label, key in wrong_keys.items():
        response = await register(client, hub["api_key"], key)
        assert_error(response, 422, "invalid_sensor_key")
        assert response.json()["details"][0]["field"] == "sensor_api_key", label

    # A rotated key: the old one no longer registers, the new one does.
    rotated = await client.post(
        f"/admin/v1/devices/{paired_elsewhere['device_id']}/rotate-key", headers=bearer(token)
    )
    assert rotated.status_code == 200, rotated.text
    assert_error(
        await register(client, hub["api_key"], paired_elsewhere["api_key"]),
        422,
        "invalid_sensor_key",
    )
    response = await register(client, hub["api_key"], rotated.json()["api_key"])
    assert response.status_code == 201, response.text
    assert (await listed_sensor_ids(client, hub["api_key"])) == [paired_elsewhere["device_id"]]


async def test_bodies_that_break_the_schema_are_validation_errors(
    server: LiveServer, token: str
) -> None:
    client = server.client
    hub, [sensor] = await hub_and_sensors(client, token)
    key = sensor["api_key"]
    cases = [
        ([key], "body"),
        ("just a string", "body"),
        ({}, "sensor_api_key"),
        ({"sensor_api_key": None}, "sensor_api_key"),
        ({"sensor_api_key": 42}, "sensor_api_key"),
        ({"sensor_api_key": key, "ieee_address": "0x00124b001cce5a7"}, "ieee_address"),
        ({"sensor_api_key": key, "ieee_address": "0x00124b001cce5a7d0"}, "ieee_address"),
        ({"sensor_api_key": key, "ieee_address": "00124b001cce5a7d00"}, "ieee_address"),
        ({"sensor_api_key": key, "ieee_address": "0x00124b001cce5a7g"}, "ieee_address"),
        ({"sensor_api_key": key, "ieee_address": "0X00124b001cce5a7d"}, "ieee_address"),
        ({"sensor_api_key": key, "ieee_address": IEEE + "\n"}, "ieee_address"),
        ({"sensor_api_key": key, "ieee_address": 0x00124B001CCE5A7D}, "ieee_address"),
        ({"sensor_api_key": key, "ieee_address": None}, "ieee_address"),
    ]
    for body, field in cases:
        response = await client.post("/v1/hub/sensors", json=body, headers=bearer(hub["api_key"]))
        assert_error(response, 422, "validation_error")
        assert field in [d["field"] for d in response.json()["details"]], body
    # Schema problems are reported before the key is looked at: nothing got paired.
    assert (await device_detail(client, token, sensor["device_id"]))["hub_id"] is None

    headers = {**bearer(hub["api_key"]), "Content-Type": "application/json"}
    assert_error(
        await client.post("/v1/hub/sensors", content=b"{", headers=headers), 400, "invalid_json"
    )
    assert_error(
        await client.post("/v1/hub/sensors", content=b'{"sensor_api_key": NaN}', headers=headers),
        400,
        "invalid_json",
    )
    assert_error(
        await client.post(
            "/v1/hub/sensors",
            content=b"sensor_api_key=x",
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        ),
        415,
        "unsupported_media_type",
    )
    # Unknown fields are ignored (the schema allows them).
    response = await client.post(
        "/v1/hub/sensors",
        json={"sensor_api_key": key, "ieee_address": IEEE, "firmware": "zb-1.2"},
        headers=bearer(hub["api_key"]),
    )
    assert response.status_code == 201, response.text


async def test_a_sensor_of_another_hub_is_409(server: LiveServer, token: str) -> None:
    client = server.client
    hub_a, [sensor] = await hub_and_sensors(client, token)
    [hub_b] = await provision(client, token, kind="hub")
    assert (await register(client, hub_a["api_key"], sensor["api_key"], IEEE)).status_code == 201

    response = await register(client, hub_b["api_key"], sensor["api_key"], "0x0000000000000001")
    assert_error(response, 409, "sensor_already_registered")
    detail = await device_detail(client, token, sensor["device_id"])
    assert (detail["hub_id"], detail["ieee_address"]) == (hub_a["device_id"], IEEE)
    assert await listed_sensor_ids(client, hub_b["api_key"]) == []


async def _race(client: httpx.AsyncClient, hub_keys: list[str], sensor_key: str) -> list[int]:
    responses = await asyncio.gather(*(register(client, k, sensor_key) for k in hub_keys))
    return [r.status_code for r in responses]


async def test_two_hubs_racing_for_a_sensor_exactly_one_wins(
    server: LiveServer, token: str
) -> None:
    client = server.client
    [hub_a, hub_b] = await provision(client, token, kind="hub", count=2)
    sensors = await provision(client, token, kind="zigbee_sensor", count=6)
    wins = {hub_a["device_id"]: 0, hub_b["device_id"]: 0}
    for sensor in sensors:
        statuses = await _race(client, [hub_a["api_key"], hub_b["api_key"]], sensor["api_key"])
        assert sorted(statuses) == [201, 409], statuses
        winner = hub_a if statuses[0] == 201 else hub_b
        wins[winner["device_id"]] += 1
        assert (await device_detail(client, token, sensor["device_id"]))["hub_id"] == winner[
            "device_id"
        ]
    a_ids = await listed_sensor_ids(client, hub_a["api_key"])
    b_ids = await listed_sensor_ids(client, hub_b["api_key"])
    assert len(a_ids) == wins[hub_a["device_id"]]
    assert len(b_ids) == wins[hub_b["device_id"]]
    assert sorted(a_ids + b_ids) == sorted(s["device_id"] for s in sensors)


async def test_one_hub_registering_a_sensor_twice_at_once(server: LiveServer, token: str) -> None:
    hub, sensors = await hub_and_sensors(server.client, token, sensors=3)
    for sensor in sensors:
        statuses = await _race(server.client, [hub["api_key"]] * 2, sensor["api_key"])
        assert sorted(statuses) == [200, 201], statuses
    assert len(await listed_sensor_ids(server.client, hub["api_key"])) == 3


async def test_the_sensor_cap_per_hub(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, max_sensors_per_hub=3)
    async with live_server(settings) as live:
        client, token = live.client, await admin_token(live.services)
        hub, sensors = await hub_and_sensors(client, token, sensors=5)
        for sensor in sensors[:3]:
            assert (await register(client, hub["api_key"], sensor["api_key"])).status_code == 201

        over = await register(client, hub["api_key"], sensors[3]["api_key"])
        assert_error(over, 409, "hub_sensor_limit")
        assert "3" in over.json()["message"]
        assert (await device_detail(client, token, sensors[3]["device_id"]))["hub_id"] is None
        # Re-registering a sensor the hub already holds is not a new one.
        assert (await register(client, hub["api_key"], sensors[0]["api_key"])).status_code == 200

        unpair = await client.delete(
            f"/v1/hub/sensors/{sensors[0]['device_id']}", headers=bearer(hub["api_key"])
        )
        assert unpair.status_code == 204
        assert (await register(client, hub["api_key"], sensors[3]["api_key"])).status_code == 201
        assert_error(
            await register(client, hub["api_key"], sensors[4]["api_key"]), 409, "hub_sensor_limit"
        )


async def test_the_cap_holds_under_concurrent_registrations(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, max_sensors_per_hub=3)
    async with live_server(settings) as live:
        client, token = live.client, await admin_token(live.services)
        for _ in range(3):
            hub, sensors = await hub_and_sensors(client, token, sensors=6)
            responses = await asyncio.gather(
                *(register(client, hub["api_key"], s["api_key"]) for s in sensors)
            )
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [201, 201, 201, 409, 409, 409], statuses
            assert {r.json()["error"] for r in responses if r.status_code == 409} == {
                "hub_sensor_limit"
            }
            assert len(await listed_sensor_ids(client, hub["api_key"])) == 3
