"""`/admin/v1/alert-rules`: shapes, validation, defaults."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.alerts import create_rule
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


async def test_default_rules_exist(manual_server: LiveServer, admin: str) -> None:
    response = await manual_server.client.get(
        "/admin/v1/alert-rules", params={"limit": 1000}, headers=bearer(admin)
    )
    assert response.status_code == 200
    rules = {r["name"]: r for r in response.json()["rules"]}
    power = rules["Shore power lost"]
    assert (power["sensor_type"], power["op"], power["threshold"], power["severity"]) == (
        "power_availability",
        "==",
        0,
        "critical",
    )
    battery = rules["Battery low"]
    assert (battery["sensor_type"], battery["op"], battery["threshold"]) == (
        "battery_level",
        "<",
        20,
    )
    humidity = rules["Humidity above 80 % for 30 minutes"]
    assert (humidity["op"], humidity["threshold"], humidity["for_seconds"]) == (">", 80, 1800)
    assert rules["Device offline"]["kind"] == "device_offline"


async def test_create_get_patch_delete(manual_server: LiveServer, admin: str) -> None:
    client, headers = manual_server.client, bearer(admin)
    rule = await create_rule(
        client,
        admin,
        name="Cabin too hot",
        sensor_type="temperature",
        op=">",
        threshold=35,
        clear_threshold=32,
        for_seconds=120,
        severity="critical",
        batch="fleet-7",
    )
    assert rule["kind"] == "threshold"
    assert (rule["batch"], rule["device_id"], rule["clear_threshold"]) == ("fleet-7", None, 32)
    url = f"/admin/v1/alert-rules/{rule['rule_id']}"
    assert (await client.get(url, headers=headers)).json() == rule
    patched = await client.patch(
        url, json={"clear_threshold": None, "name": "Hot"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["clear_threshold"], patched.json()["name"]) == (None, "Hot")
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404
    assert (await client.delete(url, headers=headers)).status_code == 404
    listed = await client.get("/admin/v1/alert-rules", params={"limit": 1000}, headers=headers)
    assert rule["rule_id"] not in {r["rule_id"] for r in listed.json()["rules"]}


async def test_rules_paginate(manual_server: LiveServer, admin: str) -> None:
    client, headers = manual_server.client, bearer(admin)
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/admin/v1/alert-rules", params=params, headers=headers)).json()
        seen += [r["rule_id"] for r in page["rules"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = await client.get("/admin/v1/alert-rules", params={"limit": 1000}, headers=headers)
    assert seen == [r["rule_id"] for r in everything.json()["rules"]]
    assert len(seen) >= 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sensor_type": "temperature", "threshold": 1}, "op"),
        ({"sensor_type": "temperature", "op": ">"}, "threshold"),
        ({"op": ">", "threshold": 1}, "sensor_type"),
        ({"sensor_type": "wind", "op": ">", "threshold": 1}, "sensor_type"),
        ({"sensor_type": "temperature", "op": "=>", "threshold": 1}, "op"),
        (
            {"sensor_type": "humidity", "op": ">", "threshold": 80, "clear_threshold": 85},
            "clear_threshold",
        ),
        (
            {"sensor_type": "humidity", "op": "==", "threshold": 80, "clear_threshold": 80},
            "clear_threshold",
        ),
        ({"sensor_type": "humidity", "op": ">", "threshold": 80, "for_seconds": -1}, "for_seconds"),
        (
            {
                "sensor_type": "humidity",
                "op": ">",
                "threshold": 80,
                "batch": "a",
                "device_id": "00000000-0000-0000-0000-000000000001",
            },
            "device_id",
        ),
        (
            {
                "sensor_type": "humidity",
                "op": ">",
                "threshold": 80,
                "device_id": "00000000-0000-0000-0000-000000000001",
            },
            "device_id",
        ),
        ({"sensor_type": "humidity", "op": ">", "threshold": 80, "colour": "red"}, "colour"),
        ({"kind": "device_offline", "sensor_type": "humidity"}, "sensor_type"),
    ],
)
async def test_invalid_rules_are_422_with_the_field(
    manual_server: LiveServer, admin: str, body: dict[str, Any], field: str
) -> None:
    response = await manual_server.client.post(
        "/admin/v1/alert-rules",
        json={"name": "bad", "severity": "info", **body},
        headers=bearer(admin),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    assert field in {d["field"] for d in response.json()["details"]}


async def test_rule_for_a_known_device(manual_server: LiveServer, admin: str) -> None:
    [device] = await provision(manual_server.client, admin)
    rule = await create_rule(
        manual_server.client,
        admin,
        sensor_type="iaq",
        op=">",
        threshold=300,
        device_id=device["device_id"],
    )
    assert rule["device_id"] == device["device_id"]


async def test_rules_need_an_admin_token(manual_server: LiveServer) -> None:
    response = await manual_server.client.get("/admin/v1/alert-rules")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
