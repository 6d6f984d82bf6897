"""The evaluator running in-process (`serve`): rule changes apply without a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.alerts import alerts_of, create_rule, wait_for
from tests.support.factories import bearer, provision
from tests.support.readings import store_readings
from tests.support.server import LiveServer


async def test_rules_apply_without_restart(server: LiveServer, token: str) -> None:
    client, pool = server.client, server.services.pool
    [device] = await provision(client, token)
    device_id = device["device_id"]
    ts = datetime.now(UTC) - timedelta(minutes=10)
    rule = await create_rule(
        client, token, sensor_type="iaq", op=">", threshold=300, device_id=device_id
    )

    async def alerts(rule_id: str) -> list[dict[str, Any]]:
        return await alerts_of(client, token, rule_id=rule_id)

    await store_readings(pool, device_id, [("iaq", ts, 350)])
    [opened] = await wait_for(lambda: alerts(rule["rule_id"]))
    assert opened["state"] == "open"

    response = await client.delete(
        f"/admin/v1/alert-rules/{rule['rule_id']}", headers=bearer(token)
    )
    assert response.status_code == 204
    stricter = await create_rule(
        client, token, sensor_type="iaq", op=">", threshold=400, device_id=device_id
    )
    await store_readings(pool, device_id, [("iaq", ts + timedelta(minutes=1), 390)])
    await store_readings(pool, device_id, [("iaq", ts + timedelta(minutes=2), 420)])
    [newer] = await wait_for(lambda: alerts(stricter["rule_id"]))
    assert newer["value"] == 420
    assert len(await alerts(rule["rule_id"])) == 1
