"""The built-in `device_offline` rule: the periodic sweep opens, the next reading resolves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from climasense.alerts.evaluator import drain
from climasense.alerts.offline import sweep
from tests.conftest import make_settings
from tests.support.alerts import alerts_of
from tests.support.factories import admin_token, bearer, provision
from tests.support.readings import store_readings
from tests.support.server import LiveServer, live_server


@pytest.fixture
async def fresh_server(fresh_database_url: str, tmp_path: object) -> AsyncIterator[LiveServer]:
    settings = make_settings(fresh_database_url, tmp_path, run_worker=False)
    async with live_server(settings) as live:
        yield live


async def offline_rule_id(server: LiveServer, token: str) -> str:
    response = await server.client.get("/admin/v1/alert-rules", headers=bearer(token))
    [rule] = [r for r in response.json()["rules"] if r["kind"] == "device_offline"]
    return str(rule["rule_id"])


async def run_sweep(server: LiveServer) -> tuple[int, int]:
    async with server.services.pool.acquire() as conn, conn.transaction():
        return await sweep(conn)


async def test_silent_devices_alert_once_and_the_next_reading_resolves(
    fresh_server: LiveServer,
) -> None:
    token = await admin_token(fresh_server.services)
    pool = fresh_server.services.pool
    devices: list[dict[str, Any]] = await provision(fresh_server.client, token, count=4)
    silent, recent, never, slow = (d["device_id"] for d in devices)
    # 300 s interval (the default): offline after 15 minutes of silence.
    await pool.execute(
        """UPDATE devices SET last_seen_at = now() - interval '20 minutes'
           WHERE device_id = ANY($1::uuid[])""",
        [silent, slow],
    )
    await pool.execute(
        "UPDATE devices SET last_seen_at = now() - interval '5 minutes' WHERE device_id = $1",
        recent,
    )
    await pool.execute(
        "UPDATE device_settings SET reporting_interval_seconds = 3600 WHERE device_id = $1", slow
    )
    rule = await offline_rule_id(fresh_server, token)

    assert await run_sweep(fresh_server) == (1, 0)
    assert await run_sweep(fresh_server) == (0, 0)  # still one alert, not two
    [alert] = await alerts_of(fresh_server.client, token, rule_id=rule)
    assert (alert["device_id"], alert["state"], alert["sensor_type"]) == (silent, "open", None)
    assert alert["value"] >= 1200

    await store_readings(pool, silent, [("temperature", datetime.now(UTC), 21.0)])
    await drain(pool)
    [alert] = await alerts_of(fresh_server.client, token, rule_id=rule)
    assert alert["state"] == "resolved"
    assert alert["resolved_at"] is not None
    assert never not in {
        a["device_id"] for a in await alerts_of(fresh_server.client, token, rule_id=rule)
    }


async def test_sweep_resolves_a_device_that_is_back(fresh_server: LiveServer) -> None:
    """A reading that committed while a sweep was opening the alert: the next sweep fixes it."""
    token = await admin_token(fresh_server.services)
    pool = fresh_server.services.pool
    [device] = await provision(fresh_server.client, token)
    await pool.execute(
        "UPDATE devices SET last_seen_at = now() - interval '1 hour' WHERE device_id = $1",
        device["device_id"],
    )
    assert await run_sweep(fresh_server) == (1, 0)
    await pool.execute(
        "UPDATE devices SET last_seen_at = now() WHERE device_id = $1", device["device_id"]
    )
    assert await run_sweep(fresh_server) == (0, 1)
    rule = await offline_rule_id(fresh_server, token)
    [alert] = await alerts_of(fresh_server.client, token, rule_id=rule)
    assert alert["state"] == "resolved"
