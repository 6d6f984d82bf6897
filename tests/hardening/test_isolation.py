"""Isolation matrix: every endpoint that takes an id or acts on a device, called with another
device's / hub's ids, ids of the wrong kind and unknown ids. Each gets 404 with a body
identical byte for byte to the unknown id's (the answer never reveals that the thing exists),
and the database is unchanged afterwards — entirely for the 404s, and outside the caller's
own rows for the caller's legitimate writes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.hardening.fleet import Fleet, alerts_routed, build_fleet, telemetry_routed, unlimited
from tests.hardening.snapshot import changed_tables, snapshot, without_rows_of
from tests.support.factories import admin_token, bearer
from tests.support.server import LiveServer, live_server

UNKNOWN = str(uuid.UUID(int=0xC0FFEE))
NOT_A_UUID = "not-a-uuid"


@dataclass
class World:
    server: LiveServer
    database_url: str
    token: str
    a: Fleet  # the caller
    b: Fleet  # the same model as a, another batch
    c: Fleet  # another model
    spare_sensor_id: str  # provisioned, never paired
    hub_command_id: str  # queued for a's hub


@pytest.fixture
async def world(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = make_settings(
        fresh_database_url, tmp_path, rate_limits=unlimited(), run_worker=False
    )
    async with live_server(settings) as server:
        client = server.client
        token = await admin_token(server.services)
        a = await build_fleet(client, token, version="1.3.0")
        b = await build_fleet(client, token, version="1.4.0", model=a.model)
        c = await build_fleet(client, token, version="2.0.0")
        admin = bearer(token)
        spare = await client.post(
            "/admin/v1/devices",
            json={"kind": "zigbee_sensor", "model": a.model, "batch": a.batch, "count": 1},
            headers=admin,
        )
        hub_command = await client.post(
            f"/admin/v1/devices/{a.hub_id}/commands", json={"type": "reboot"}, headers=admin
        )
        # b answers one of its commands, so a meets answered and live ones.
        answered = await client.post(
            "/v1/commands/ack",
            json={"command_id": b.command_ids[0], "status": "acked"},
            headers=bearer(b.device_key),
        )
        assert answered.status_code == 200, answered.text
        yield World(
            server=server,
            database_url=fresh_database_url,
            token=token,
            a=a,
            b=b,
            c=c,
            spare_sensor_id=spare.json()["devices"][0]["device_id"],
            hub_command_id=hub_command.json()["command_id"],
        )


async def call(
    client: httpx.AsyncClient, method: str, path: str, key: str, body: Any = None
) -> httpx.Response:
    return await client.request(method, path, json=body, headers=bearer(key))


def assert_same_404(responses: dict[str, httpx.Response], reference: str) -> None:
    """Every response is 404 `not_found` with the body of `responses[reference]`."""
    expected = responses[reference].content
    for label, response in responses.items():
        assert response.status_code == 404, (label, response.status_code, response.text)
        assert response.json()["error"] == "not_found", label
        assert response.content == expected, (label, response.text, expected)


async def device_api_404s(w: World) -> int:
    client, a, b, c = w.server.client, w.a, w.b, w.c
    checked = 0

    # A command of another device (answered or live), of the caller's own hub, or of nobody.
    responses = {}
    for label, command_id in {
        "unknown": UNKNOWN,
        "b answered": b.command_ids[0],
        "b live": b.command_ids[1],
        "c live": c.command_ids[0],
        "own hub's": w.hub_command_id,
    }.items():
        body = {"command_id": command_id, "status": "acked"}
        responses[label] = await call(client, "POST", "/v1/commands/ack", a.device_key, body)
    assert_same_404(responses, "unknown")
    checked += len(responses)

    # Unpairing a sensor of another hub, an unpaired one, a device that is no sensor, ….
    responses = {}
    for label, sensor_id in {
        "unknown": UNKNOWN,
        "not a uuid": NOT_A_UUID,
        "b's paired sensor": b.sensor_id,
        "c's paired sensor": c.sensor_id,
        "an unpaired sensor": w.spare_sensor_id,
        "own standalone device": a.device_id,
        "own hub": a.hub_id,
        "another hub": b.hub_id,
    }.items():
        path = f"/v1/hub/sensors/{sensor_id}"
        responses[label] = await call(client, "DELETE", path, a.hub_key)
    assert_same_404(responses, "unknown")
    checked += len(responses)

    # Firmware released to another batch of the same model, or to another model: answered
    # as a version that exists nowhere (the message names the version asked for).
    for version in (b.firmware_version, c.firmware_version):
        responses = {}
        for label, key in (("device", a.device_key), ("hub", a.hub_key)):
            responses[label] = await call(client, "GET", f"/v1/ota/download/{version}", key)
            nowhere = await call(client, "GET", "/v1/ota/download/9.9.9", key)
            assert nowhere.status_code == 404
            expected = nowhere.content.replace(b"9.9.9", version.encode())
            assert responses[label].content == expected, (label, responses[label].text)
        assert_same_404(responses, "device")
        checked += 2 * len(responses)

    return checked


async def reads_show_only_own_things(w: World) -> None:
    """A device's reads (which mark its commands delivered and record its version: its own
    rows) never show another device's commands, sensors or firmware."""
    client, a, c = w.server.client, w.a, w.c
    pending = (await call(client, "GET", "/v1/commands/pending", a.device_key)).json()
    assert sorted(cmd["command_id"] for cmd in pending["commands"]) == sorted(a.command_ids)
    pending = (await call(client, "GET", "/v1/commands/pending", a.hub_key)).json()
    assert [cmd["command_id"] for cmd in pending["commands"]] == [w.hub_command_id]
    sensors = (await call(client, "GET", "/v1/hub/sensors", a.hub_key)).json()["sensors"]
    assert [s["sensor_id"] for s in sensors] == [a.sensor_id]
    check = await call(client, "GET", "/v1/ota/check?current_version=1.3.0", a.device_key)
    assert check.json() == {"update_available": False}  # 1.4.0 is b's batch, 2.0.0 c's model
    check = await call(client, "GET", "/v1/ota/check?current_version=0.1.0", c.device_key)
    assert check.json()["version"] == c.firmware_version


async def admin_api_404s(w: World) -> int:
    client, token, a, b = w.server.client, w.token, w.a, w.b
    checked = 0
    # ids that name no device: unknown, not a UUID, and ids of other kinds of things.
    not_devices = {
        "unknown": UNKNOWN,
        "not a uuid": NOT_A_UUID,
        "a command id": b.command_ids[1],
        "a release id": b.release_id,
    }
    device_endpoints: list[tuple[str, str, Any]] = [
        ("GET", "/admin/v1/devices/{id}", None),
        ("POST", "/admin/v1/devices/{id}/revoke", None),
        ("POST", "/admin/v1/devices/{id}/rotate-key", None),
        ("GET", "/admin/v1/devices/{id}/settings", None),
        ("PATCH", "/admin/v1/devices/{id}/settings", {"reporting_interval_seconds": 600}),
        ("POST", "/admin/v1/devices/{id}/commands", {"type": "reboot"}),
        ("GET", "/admin/v1/devices/{id}/commands", None),
    ]
    if telemetry_routed():
        device_endpoints.append(("GET", "/admin/v1/devices/{id}/telemetry", None))
    for method, template, body in device_endpoints:
        responses = {
            label: await call(client, method, template.format(id=value), token, body)
            for label, value in not_devices.items()
        }
        assert_same_404(responses, "unknown")
        checked += len(responses)

    not_commands = {
        "unknown": UNKNOWN,
        "not a uuid": NOT_A_UUID,
        "a device id": a.device_id,
        "a release id": b.release_id,
    }
    responses = {
        label: await call(client, "POST", f"/admin/v1/commands/{value}/cancel", token)
        for label, value in not_commands.items()
    }
    assert_same_404(responses, "unknown")
    checked += len(responses)

    not_releases = {
        "unknown": UNKNOWN,
        "not a uuid": NOT_A_UUID,
        "a device id": a.device_id,
        "a command id": b.command_ids[1],
    }
    responses = {
        label: await call(client, "GET", f"/admin/v1/releases/{value}", token)
        for label, value in not_releases.items()
    }
    assert_same_404(responses, "unknown")
    checked += len(responses)
    # b's release through a's firmware path (same model, a's version): not b's release here.
    for action in ("pause", "resume", "cancel"):
        base = f"/admin/v1/firmware/{a.model}/{a.firmware_version}/releases"
        responses = {
            label: await call(client, "POST", f"{base}/{value}/{action}", token)
            for label, value in {**not_releases, "b's release": b.release_id}.items()
        }
        assert_same_404(responses, "unknown")
        checked += len(responses)

    if telemetry_routed():
        # Another hub's sensor named as a sensor of the caller's hub.
        base = f"/admin/v1/devices/{a.hub_id}/telemetry?sensor_id="
        responses = {
            label: await call(client, "GET", base + value, token)
            for label, value in {
                "unknown": UNKNOWN,
                "not a uuid": NOT_A_UUID,
                "b's sensor": b.sensor_id,
                "a's standalone device": a.device_id,
            }.items()
        }
        assert_same_404(responses, "unknown")
        checked += len(responses)

    if alerts_routed():
        not_these = {
            "unknown": UNKNOWN,
            "not a uuid": NOT_A_UUID,
            "a device id": a.device_id,
            "a command id": b.command_ids[1],
            "a release id": b.release_id,
        }
        for method, template, body in [
            ("POST", "/admin/v1/alerts/{id}/acknowledge", None),
            ("GET", "/admin/v1/alert-rules/{id}", None),
            ("PATCH", "/admin/v1/alert-rules/{id}", {"threshold": 1}),
            ("DELETE", "/admin/v1/alert-rules/{id}", None),
            ("GET", "/admin/v1/webhooks/{id}", None),
            ("GET", "/admin/v1/webhooks/{id}/deliveries", None),
            ("DELETE", "/admin/v1/webhooks/{id}", None),
        ]:
            responses = {
                label: await call(client, method, template.format(id=value), token, body)
                for label, value in not_these.items()
            }
            assert_same_404(responses, "unknown")
            checked += len(responses)

    unknown_model = await call(
        client, "DELETE", "/admin/v1/models/NO-SUCH-MODEL/settings-defaults", token
    )
    assert unknown_model.status_code == 404
    return checked + 1


async def test_other_and_unknown_ids_get_identical_404s_and_change_nothing(world: World) -> None:
    w = world
    await reads_show_only_own_things(w)  # first: they write the caller's own rows
    before = await snapshot(w.database_url)
    checked = await device_api_404s(w) + await admin_api_404s(w)
    await reads_show_only_own_things(w)  # again: now they change nothing
    after = await snapshot(w.database_url)
    assert changed_tables(before, after) == []
    assert checked >= 70
    print(f"isolation: {checked} cross-tenant / unknown-id requests, all identical 404s")


async def test_a_devices_own_writes_touch_only_its_rows(world: World) -> None:
    w = world
    client, a, b = w.server.client, w.a, w.b
    release_path = f"/admin/v1/releases/{b.release_id}"
    b_release = (await call(client, "GET", release_path, w.token)).json()
    before = await snapshot(w.database_url)

    patch = {"reporting_interval_seconds": 900, "timezone": "Europe/Paris"}
    assert (await call(client, "PATCH", "/v1/settings", a.device_key, patch)).status_code == 200
    assert (await call(client, "PATCH", "/v1/settings", a.hub_key, patch)).status_code == 200
    # a reports progress on b's version (same model, not released to a's batch): recorded as
    # a's own history, counted in no release of b's.
    for status in ("downloading", "failed"):
        body = {"version": b.firmware_version, "status": status}
        assert (await call(client, "POST", "/v1/ota/status", a.device_key, body)).status_code == 200
    if telemetry_routed():
        await readings_for_foreign_sensors_are_rejected(w)
    ack = {"command_id": a.command_ids[0], "status": "failed", "error_message": "busy"}
    assert (await call(client, "POST", "/v1/commands/ack", a.device_key, ack)).status_code == 200
    assert (
        await call(client, "DELETE", f"/v1/hub/sensors/{a.sensor_id}", a.hub_key)
    ).status_code == 204

    after = await snapshot(w.database_url)
    own = [a.device_id, a.hub_id, a.sensor_id]
    assert changed_tables(before, after) != []  # the writes happened…
    assert changed_tables(without_rows_of(before, own), without_rows_of(after, own)) == []
    assert (await call(client, "GET", release_path, w.token)).json() == b_release
    for key in (b.device_key, w.c.device_key):
        settings = (await call(client, "GET", "/v1/settings", key)).json()
        assert settings["version"] == 1
        assert settings["timezone"] != "Europe/Paris"


async def readings_for_foreign_sensors_are_rejected(w: World) -> None:
    """A hub's readings for another hub's sensor (or a non-sensor, or nobody) are rejected one
    by one with the same answer as for an unknown sensor; a standalone device may name none."""
    client, a, b = w.server.client, w.a, w.b
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def reading(sensor_id: str | None) -> dict[str, Any]:
        found = {"sensor_type": "humidity", "value": 40.0, "timestamp": now}
        return found if sensor_id is None else {**found, "sensor_id": sensor_id}

    others = {"unknown": UNKNOWN, "b's sensor": b.sensor_id, "a's device": a.device_id}
    body = {"readings": [reading(a.sensor_id), *(reading(s) for s in others.values())]}
    answer = await call(client, "POST", "/v1/telemetry", a.hub_key, body)
    assert answer.status_code == 202, answer.text
    result = answer.json()
    assert (result["accepted"], result["rejected"]) == (1, len(others)), result
    errors = {e["index"]: e for e in result["errors"]}
    reference = errors[1]
    for index, sensor_id in enumerate(others.values(), start=1):
        expected = {
            **reference,
            "index": index,
            "message": reference["message"].replace(UNKNOWN, sensor_id),
        }
        assert errors[index] == expected, (errors[index], expected)

    alone = await call(
        client, "POST", "/v1/telemetry", a.device_key, {"readings": [reading(b.sensor_id)]}
    )
    assert alone.status_code == 202
    assert (alone.json()["accepted"], alone.json()["rejected"]) == (0, 1)
