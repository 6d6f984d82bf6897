"""`GET/PATCH /v1/settings` (CONTRACT §4.2) against the real server and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.errors import assert_error
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


async def new_device(server: LiveServer, token: str, **kwargs: Any) -> dict[str, Any]:
    [device] = await provision(server.client, token, **kwargs)
    return device


async def get(server: LiveServer, key: str) -> dict[str, Any]:
    response = await server.client.get("/v1/settings", headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["ETag"] == f'"{body["version"]}"'
    return body


async def patch(
    server: LiveServer, key: str, body: Any, *, if_match: str | None = None, **headers: str
) -> Any:
    extra = {"If-Match": if_match} if if_match is not None else {}
    return await server.client.patch(
        "/v1/settings", json=body, headers={**bearer(key), **extra, **headers}
    )


async def test_defaults_at_provisioning_with_etag(server: LiveServer, token: str) -> None:
    device = await new_device(server, token, kind="hub")
    settings = await get(server, device["api_key"])
    assert settings == {
        "reporting_interval_seconds": 300,
        "enabled_sensors": ["temperature", "humidity", "power_availability", "signal_strength"],
        "location": None,
        "timezone": "UTC",
        "version": 1,
    }


async def test_only_sent_fields_change_and_version_goes_up(server: LiveServer, token: str) -> None:
    key = (await new_device(server, token))["api_key"]
    before = await get(server, key)
    response = await patch(server, key, {"reporting_interval_seconds": 60})
    assert response.status_code == 200, response.text
    after = response.json()
    assert after == {**before, "reporting_interval_seconds": 60, "version": before["version"] + 1}
    assert response.headers["ETag"] == f'"{after["version"]}"'
    assert await get(server, key) == after

    response = await patch(
        server,
        key,
        {"enabled_sensors": ["iaq", "temperature"], "timezone": "America/Los_Angeles"},
    )
    assert response.json() == {
        **after,
        "enabled_sensors": ["iaq", "temperature"],
        "timezone": "America/Los_Angeles",
        "version": after["version"] + 1,
    }


async def test_location_merges_and_null_clears(server: LiveServer, token: str) -> None:
    key = (await new_device(server, token))["api_key"]
    # A location needs latitude and longitude once merged: a name alone is not one.
    response = await patch(server, key, {"location": {"name": "Berth 12"}})
    assert_error(response, 422, "validation_error")
    fields = {d["field"] for d in response.json()["details"]}
    assert fields == {"location.latitude", "location.longitude"}

    response = await patch(server, key, {"location": {"latitude": -90, "longitude": 180}})
    assert response.json()["location"] == {"latitude": -90.0, "longitude": 180.0}
    response = await patch(server, key, {"location": {"name": "Marina Berth 12"}})
    assert response.json()["location"] == {
        "latitude": -90.0,
        "longitude": 180.0,
        "name": "Marina Berth 12",
    }
    response = await patch(server, key, {"location": {"latitude": 37.8, "name": None}})
    assert response.json()["location"] == {"latitude": 37.8, "longitude": 180.0}
    response = await patch(server, key, {"location": {"longitude": None}})
    assert_error(response, 422, "validation_error")
    response = await patch(server, key, {"location": None})
    assert response.status_code == 200
    assert response.json()["location"] is None
    assert (await get(server, key))["location"] is None


BAD_PATCHES = [
    ({"reporting_interval_seconds": 59}, "reporting_interval_seconds"),
    ({"reporting_interval_seconds": 3601}, "reporting_interval_seconds"),
    ({"reporting_interval_seconds": 60.0}, "reporting_interval_seconds"),
    ({"reporting_interval_seconds": 120.5}, "reporting_interval_seconds"),
    ({"reporting_interval_seconds": True}, "reporting_interval_seconds"),
    ({"reporting_interval_seconds": "300"}, "reporting_interval_seconds"),
    ({"reporting_interval_seconds": None}, "reporting_interval_seconds"),
    ({"enabled_sensors": ["temperature", "co2"]}, "enabled_sensors[1]"),
    ({"enabled_sensors": ["humidity", "humidity"]}, "enabled_sensors[1]"),
    ({"enabled_sensors": "temperature"}, "enabled_sensors"),
    ({"enabled_sensors": [1]}, "enabled_sensors[0]"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "america/los_angeles"}, "timezone"),
    ({"timezone": "localtime"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"timezone": 5}, "timezone"),
    ({"version": 99}, "version"),
    ({"colour": "blue"}, "colour"),
    ({"location": {"latitude": 91, "longitude": 0}}, "location.latitude"),
    ({"location": {"latitude": 0, "longitude": -180.5}}, "location.longitude"),
    ({"location": {"latitude": True, "longitude": 0}}, "location.latitude"),
    ({"location": {"latitude": 0, "longitude": 0, "name": "x" * 101}}, "location.name"),
    ({"location": {"latitude": 0, "longitude": 0, "name": 7}}, "location.name"),
    ({"location": {"latitude": 0, "longitude": 0, "altitude": 3}}, "location.altitude"),
    ({"location": [0, 0]}, "location"),
    # One good field does not get through beside a bad one.
    ({"reporting_interval_seconds": 120, "timezone": "Nowhere/Town"}, "timezone"),
    ([{"op": "replace", "path": "/timezone", "value": "UTC"}], "body"),
    ("UTC", "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_PATCHES)
async def test_invalid_patch_is_422_and_changes_nothing(
    server: LiveServer, token: str, body: Any, field: str
) -> None:
    key = (await new_device(server, token))["api_key"]
    before = await get(server, key)
    response = await patch(server, key, body)
    assert_error(response, 422, "validation_error")
    assert field in {d["field"] for d in response.json()["details"]}
    assert await get(server, key) == before


async def test_name_of_exactly_100_characters_is_accepted(server: LiveServer, token: str) -> None:
    key = (await new_device(server, token))["api_key"]
    name = "é" * 100  # characters, not bytes
    response = await patch(server, key, {"location": {"latitude": 1, "longitude": 2, "name": name}})
    assert response.status_code == 200, response.text
    assert response.json()["location"]["name"] == name


async def test_empty_patch_and_unchanged_values_keep_the_version(
    server: LiveServer, token: str
) -> None:
    key = (await new_device(server, token))["api_key"]
    before = await get(server, key)
    response = await patch(server, key, {})
    assert response.status_code == 200
    assert response.json() == before
    assert response.headers["ETag"] == f'"{before["version"]}"'
    response = await patch(server, key, {"timezone": before["timezone"]})
    assert response.json() == before


async def test_if_match(server: LiveServer, token: str) -> None:
    key = (await new_device(server, token))["api_key"]
    version = (await get(server, key))["version"]
    response = await patch(server, key, {"timezone": "Europe/Paris"}, if_match=f'"{version}"')
    assert response.status_code == 200
    assert response.json()["version"] == version + 1
    current = await get(server, key)
    for stale in (f'"{version}"', f'W/"{version + 1}"', str(version + 1), '"x"'):
        for body in ({"timezone": "Asia/Tokyo"}, {}):
            response = await patch(server, key, body, if_match=stale)
            assert_error(response, 412, "precondition_failed")
            assert await get(server, key) == current
    response = await patch(server, key, {"timezone": "Asia/Tokyo"}, if_match="*")
    assert response.status_code == 200
    response = await patch(server, key, {"timezone": "UTC"}, if_match=f'"1", "{version + 2}"')
    assert response.status_code == 200


async def test_concurrent_patches_with_the_same_if_match_exactly_one_wins(
    server: LiveServer, token: str
) -> None:
    key = (await new_device(server, token))["api_key"]
    version = (await get(server, key))["version"]
    responses = await asyncio.gather(
        *(
            patch(server, key, {"reporting_interval_seconds": 60 + i}, if_match=f'"{version}"')
            for i in range(8)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 7
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert winner["version"] == version + 1
    assert await get(server, key) == winner


async def test_concurrent_patches_without_if_match_lose_no_update(
    server: LiveServer, token: str
) -> None:
    key = (await new_device(server, token))["api_key"]
    version = (await get(server, key))["version"]
    responses = await asyncio.gather(
        *(patch(server, key, {"reporting_interval_seconds": 60 + i}) for i in range(8))
    )
    assert [r.status_code for r in responses] == [200] * 8
    assert sorted(r.json()["version"] for r in responses) == list(range(version + 1, version + 9))


async def test_media_types(server: LiveServer, token: str) -> None:
    key = (await new_device(server, token))["api_key"]
    response = await server.client.patch(
        "/v1/settings",
        content=b'{"timezone": "Europe/Berlin"}',
        headers={**bearer(key), "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == "Europe/Berlin"
    response = await server.client.patch(
        "/v1/settings",
        content=b"timezone=UTC",
        headers={**bearer(key), "Content-Type": "text/plain"},
    )
    assert_error(response, 415, "unsupported_media_type")
    response = await server.client.patch(
        "/v1/settings",
        content=b'{"reporting_interval_seconds": NaN}',
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_json")
    assert (await get(server, key))["timezone"] == "Europe/Berlin"


async def test_model_defaults_apply_to_new_devices(server: LiveServer, token: str) -> None:
    model = "CS-DEF-1"
    defaults = {
        "reporting_interval_seconds": 900,
        "enabled_sensors": ["temperature", "battery_level"],
        "timezone": "Europe/Oslo",
    }
    url = f"/admin/v1/models/{model}/settings-defaults"
    bad = await server.client.put(
        url, json={"reporting_interval_seconds": 30}, headers=bearer(token)
    )
    assert_error(bad, 422, "validation_error")
    response = await server.client.put(url, json=defaults, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["location"] is None

    device = await new_device(server, token, model=model)
    assert await get(server, device["api_key"]) == {
        **defaults,
        "location": None,
        "version": 1,
    }
    # Another model keeps the built-in defaults.
    other = await new_device(server, token, model="CS-DEF-2")
    assert (await get(server, other["api_key"]))["reporting_interval_seconds"] == 300

    assert (await server.client.delete(url, headers=bearer(token))).status_code == 204
    again = await new_device(server, token, model=model)
    assert (await get(server, again["api_key"]))["timezone"] == "UTC"
    assert_error(await server.client.get(url, headers=bearer(token)), 404, "not_found")
