"""`GET /admin/v1/alerts` filters and pagination; acknowledging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from climasense.alerts.evaluator import drain
from tests.support.alerts import create_rule
from tests.support.factories import bearer, provision
from tests.support.readings import store_readings
from tests.support.server import LiveServer


async def test_filters_and_pages(manual_server: LiveServer, admin: str) -> None:
    client, headers, pool = manual_server.client, bearer(admin), manual_server.services.pool
    devices = await provision(client, admin, batch="alerts-api", count=3)
    warn = await create_rule(
        client, admin, sensor_type="iaq", op=">", threshold=400, batch="alerts-api"
    )
    crit = await create_rule(
        client,
        admin,
        sensor_type="iaq",
        op=">",
        threshold=450,
        batch="alerts-api",
        severity="critical",
    )
    now = datetime.now(UTC) - timedelta(minutes=5)
    for i, device in enumerate(devices):
        await store_readings(pool, device["device_id"], [("iaq", now + timedelta(seconds=i), 480)])
    await drain(pool)

    async def listed(**params: Any) -> list[dict[str, Any]]:
        response = await client.get("/admin/v1/alerts", params=params, headers=headers)
        assert response.status_code == 200, response.text
        alerts: list[dict[str, Any]] = response.json()["alerts"]
        return alerts

    ours = {warn["rule_id"], crit["rule_id"]}
    everything = [a for a in await listed(limit=1000) if a["rule_id"] in ours]
    assert len(everything) == 6
    assert [a["opened_at"] for a in everything] == sorted(
        (a["opened_at"] for a in everything), reverse=True
    )
    device = devices[0]["device_id"]
    mine = await listed(device_id=device, limit=1000)
    assert {a["rule_id"] for a in mine if a["rule_id"] in ours} == ours
    critical = await listed(device_id=device, severity="critical")
    assert [a["rule_id"] for a in critical if a["rule_id"] in ours] == [crit["rule_id"]]

    acked = await client.post(
        f"/admin/v1/alerts/{critical[0]['alert_id']}/acknowledge", headers=headers
    )
    assert acked.status_code == 200
    assert [a["alert_id"] for a in await listed(device_id=device, state="acknowledged")] == [
        critical[0]["alert_id"]
    ]
    assert critical[0]["alert_id"] not in {
        a["alert_id"] for a in await listed(device_id=device, state="open")
    }

    pages: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"rule_id": warn["rule_id"], "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/admin/v1/alerts", params=params, headers=headers)).json()
        pages += [a["alert_id"] for a in page["alerts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [a["alert_id"] for a in everything if a["rule_id"] == warn["rule_id"]]


async def test_bad_parameters(manual_server: LiveServer, admin: str) -> None:
    client, headers = manual_server.client, bearer(admin)
    for params in ({"state": "closed"}, {"device_id": "nope"}, {"cursor": "garbage"}):
        response = await client.get("/admin/v1/alerts", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
    missing = await client.post(
        "/admin/v1/alerts/00000000-0000-0000-0000-000000000000/acknowledge", headers=headers
    )
    assert missing.status_code == 404
    assert (
        await client.post("/admin/v1/alerts/xyz/acknowledge", headers=headers)
    ).status_code == 404
