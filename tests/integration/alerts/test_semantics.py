"""CONTRACT §6 semantics against PostgreSQL: readings committed the way ingest commits them,
evaluated by the production evaluator (`drain`), alerts read through the operator API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from climasense.alerts.evaluator import drain
from tests.support.alerts import alerts_of, create_rule
from tests.support.factories import bearer, provision
from tests.support.readings import pair_sensor, store_readings
from tests.support.server import LiveServer

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    return at(seconds).isoformat().replace("+00:00", "Z")


class Fleet:
    """One test's devices and rules, evaluated on demand."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.server, self.token = server, token

    async def device(self, **kwargs: Any) -> str:
        devices = await provision(self.server.client, self.token, **kwargs)
        return str(devices[0]["device_id"])

    async def rule(self, device_id: str, **fields: Any) -> str:
        fields.setdefault("device_id", device_id)
        return str((await create_rule(self.server.client, self.token, **fields))["rule_id"])

    async def send(self, device_id: str, sensor_type: str, *points: tuple[float, float]) -> None:
        readings = [(sensor_type, at(s), v) for s, v in points]
        await store_readings(self.server.services.pool, device_id, readings)

    async def evaluate(self) -> None:
        await drain(self.server.services.pool)

    async def alerts(self, rule_id: str, device_id: str | None = None) -> list[dict[str, Any]]:
        return await alerts_of(self.server.client, self.token, rule_id=rule_id, device_id=device_id)


@pytest.fixture
def fleet(manual_server: LiveServer, admin: str) -> Fleet:
    return Fleet(manual_server, admin)


async def test_opens_at_once_without_for_seconds(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="temperature", op=">", threshold=30)
    await fleet.send(device, "temperature", (0, 25), (60, 31.5))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["state"] == "open"
    assert alert["device_id"] == device
    assert alert["sensor_id"] is None
    assert alert["sensor_type"] == "temperature"
    assert alert["severity"] == "warning"
    assert alert["value"] == 31.5
    assert alert["opened_at"] == iso(60)
    assert alert["resolved_at"] is None


async def test_opens_only_after_for_seconds_of_reading_time(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="iaq", op=">=", threshold=200, for_seconds=600)
    for second in range(0, 600, 60):  # held for 540 s: not yet
        await fleet.send(device, "iaq", (second, 250))
        await fleet.evaluate()
    assert await fleet.alerts(rule) == []
    await fleet.send(device, "iaq", (600, 260))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["opened_at"] == iso(600)
    assert alert["value"] == 260


async def test_a_break_in_the_condition_restarts_the_clock(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="iaq", op=">", threshold=200, for_seconds=300)
    for second, value in [(0, 250), (200, 250), (250, 150), (300, 250), (500, 250)]:
        await fleet.send(device, "iaq", (second, value))
        await fleet.evaluate()
    assert await fleet.alerts(rule) == []  # 300 → 500 is 200 s
    await fleet.send(device, "iaq", (600, 250))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["opened_at"] == iso(600)


async def test_resolves_on_a_later_reading_and_a_new_episode_opens_a_new_alert(
    fleet: Fleet,
) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="pressure", op="<", threshold=980)
    await fleet.send(device, "pressure", (0, 970))
    await fleet.evaluate()
    await fleet.send(device, "pressure", (60, 975))  # a repeat: same alert, newer value
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["value"] == 975
    await fleet.send(device, "pressure", (120, 990))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["state"] == "resolved"
    assert alert["resolved_at"] == iso(120)
    assert alert["resolved_value"] == 990
    await fleet.send(device, "pressure", (180, 960))
    await fleet.evaluate()
    first, second = await fleet.alerts(rule)
    assert first["alert_id"] == alert["alert_id"]
    assert first["state"] == "resolved"
    assert second["state"] == "open"
    assert second["opened_at"] == iso(180)


async def test_clear_threshold_is_hysteresis(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(
        device, sensor_type="humidity", op=">", threshold=80, clear_threshold=75
    )
    await fleet.send(device, "humidity", (0, 85))
    await fleet.evaluate()
    await fleet.send(device, "humidity", (60, 78))  # below 80, not at or below 75: still open
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["state"] == "open"
    await fleet.send(device, "humidity", (120, 75))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["state"] == "resolved"
    assert alert["resolved_at"] == iso(120)


async def test_equality_rule_on_power(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(
        device, sensor_type="power_availability", op="==", threshold=0, severity="critical"
    )
    await fleet.send(device, "power_availability", (0, 1), (60, 0))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert (alert["severity"], alert["value"], alert["opened_at"]) == ("critical", 0, iso(60))


async def test_acknowledged_alert_is_still_the_open_one_and_still_resolves(
    fleet: Fleet,
) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="temperature", op=">", threshold=40)
    await fleet.send(device, "temperature", (0, 45))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    client, headers = fleet.server.client, bearer(fleet.token)
    url = f"/admin/v1/alerts/{alert['alert_id']}/acknowledge"
    response = await client.post(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "acknowledged"
    assert response.json()["acknowledged_at"] is not None
    assert (await client.post(url, headers=headers)).status_code == 200  # idempotent
    await fleet.send(device, "temperature", (60, 46))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert (alert["state"], alert["value"]) == ("acknowledged", 46)
    await fleet.send(device, "temperature", (120, 20))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["state"] == "resolved"
    response = await client.post(url, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"] == "alert_resolved"


async def test_an_episode_cleared_within_the_same_readings_never_opens(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="temperature", op=">", threshold=30)
    await fleet.send(device, "temperature", (0, 35), (60, 36), (120, 20))
    await fleet.evaluate()
    assert await fleet.alerts(rule) == []


async def test_late_readings_never_open_an_alert_for_the_past(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="temperature", op=">", threshold=30)
    await fleet.send(device, "temperature", (600, 20))
    await fleet.evaluate()
    await fleet.send(device, "temperature", *[(s, 35) for s in range(0, 600, 60)])
    await fleet.evaluate()
    assert await fleet.alerts(rule) == []


async def test_late_readings_never_resolve_an_open_alert(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="temperature", op=">", threshold=30)
    await fleet.send(device, "temperature", (600, 35))
    await fleet.evaluate()
    await fleet.send(device, "temperature", (300, 20))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["state"] == "open"


async def test_late_satisfying_readings_lengthen_the_current_run(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="iaq", op=">", threshold=200, for_seconds=300)
    await fleet.send(device, "iaq", (0, 100), (200, 250), (400, 250))
    await fleet.evaluate()
    assert await fleet.alerts(rule) == []  # held 200 s as far as known
    await fleet.send(device, "iaq", (60, 250), (120, 250))  # late: held since 60 s
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["opened_at"] == iso(400)  # the newest reading: the moment it is known to hold


async def test_a_late_failing_reading_inside_the_run_restarts_it(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="iaq", op=">", threshold=200, for_seconds=300)
    await fleet.send(device, "iaq", (0, 250), (250, 250))
    await fleet.evaluate()
    # Without the late 100 at 120 s, 0 → 320 s would be 320 s held; with it, 250 → 320 s.
    await fleet.send(device, "iaq", (120, 100), (320, 250))
    await fleet.evaluate()
    assert await fleet.alerts(rule) == []
    await fleet.send(device, "iaq", (560, 250))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["opened_at"] == iso(560)


async def test_two_hours_of_buffered_readings_flushed_out_of_order(fleet: Fleet) -> None:
    """A device offline for two hours flushes its buffer (one reading a minute of humidity
    and power) in three shuffled requests. Humidity was above 80 for 50 minutes, then below,
    then above again for the last 30 minutes; power was lost for 10 minutes and came back.
    Only what still holds at the newest reading alerts: the last humidity episode, at the
    moment it had held for 30 minutes."""
    import random

    device = await fleet.device()
    humid = await fleet.rule(device, sensor_type="humidity", op=">", threshold=80, for_seconds=1800)
    power = await fleet.rule(
        device, sensor_type="power_availability", op="==", threshold=0, severity="critical"
    )
    await fleet.send(device, "humidity", (0, 60))
    await fleet.send(device, "power_availability", (0, 1))
    await fleet.evaluate()

    buffered: list[tuple[str, float, float]] = []
    for minute in range(1, 121):
        humidity = 85.0 if minute <= 50 or minute >= 90 else 70.0
        buffered.append(("humidity", minute * 60, humidity))
        buffered.append(("power_availability", minute * 60, 0.0 if 10 <= minute < 20 else 1.0))
    random.Random(20240601).shuffle(buffered)
    for start in range(0, len(buffered), 80):
        chunk = [(kind, at(s), v) for kind, s, v in buffered[start : start + 80]]
        await store_readings(fleet.server.services.pool, device, chunk)
        await fleet.evaluate()

    assert await fleet.alerts(power) == []
    [alert] = await fleet.alerts(humid)
    assert alert["state"] == "open"
    # Above 80 from minute 90: held 30 minutes at minute 120 at the earliest.
    assert alert["opened_at"] == iso(120 * 60)
    series = await fleet.server.services.pool.fetchrow(
        "SELECT last_ts, run_start FROM alert_series WHERE rule_id = $1", humid_id(humid)
    )
    assert series["last_ts"] == at(120 * 60)
    assert series["run_start"] == at(90 * 60)


def humid_id(rule_id: str) -> Any:
    from uuid import UUID

    return UUID(rule_id)


async def test_rule_scope_batch_and_device(fleet: Fleet) -> None:
    in_batch = await fleet.device(batch="scope-a")
    other = await fleet.device(batch="scope-b")
    batch_rule = await create_rule(
        fleet.server.client,
        fleet.token,
        sensor_type="signal_strength",
        op="<",
        threshold=-120,
        batch="scope-a",
    )
    device_rule = await fleet.rule(other, sensor_type="signal_strength", op="<", threshold=-125)
    for device in (in_batch, other):
        await fleet.send(device, "signal_strength", (0, -130))
    await fleet.evaluate()
    batch_alerts = await fleet.alerts(str(batch_rule["rule_id"]))
    assert [a["device_id"] for a in batch_alerts if a["device_id"] in (in_batch, other)] == [
        in_batch
    ]
    assert [a["device_id"] for a in await fleet.alerts(device_rule)] == [other]


async def test_hub_sensor_alert_names_the_hub_and_the_sensor(fleet: Fleet) -> None:
    hub = await fleet.device(kind="hub")
    sensor = await fleet.device(kind="zigbee_sensor")
    await pair_sensor(fleet.server.services.pool, hub, sensor)
    rule = await fleet.rule(hub, sensor_type="temperature", op="<", threshold=0)  # hub scope
    await fleet.send(sensor, "temperature", (0, -5))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert (alert["device_id"], alert["sensor_id"]) == (hub, sensor)
    assert [a["alert_id"] for a in await fleet.alerts(rule, device_id=sensor)] == [
        alert["alert_id"]
    ]
    detail = await fleet.server.client.get(f"/admin/v1/devices/{hub}", headers=bearer(fleet.token))
    assert [a["alert_id"] for a in detail.json()["open_alerts"]] == [alert["alert_id"]]


async def test_device_detail_lists_unresolved_alerts(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="temperature", op=">", threshold=50)
    await fleet.send(device, "temperature", (0, 55))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    url = f"/admin/v1/devices/{device}"

    async def open_alerts() -> list[str]:
        # This rule's only: a fleet-wide rule another test module left in the shared database
        # may open alerts of its own on this device.
        detail = (await fleet.server.client.get(url, headers=bearer(fleet.token))).json()
        return [a["alert_id"] for a in detail["open_alerts"] if a["rule_id"] == rule]

    assert await open_alerts() == [alert["alert_id"]]
    await fleet.send(device, "temperature", (60, 20))
    await fleet.evaluate()
    assert await open_alerts() == []


async def test_deleting_a_rule_resolves_its_alerts_and_stops_it(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="temperature", op=">", threshold=50)
    await fleet.send(device, "temperature", (0, 55))
    await fleet.evaluate()
    response = await fleet.server.client.delete(
        f"/admin/v1/alert-rules/{rule}", headers=bearer(fleet.token)
    )
    assert response.status_code == 204
    [alert] = await fleet.alerts(rule)
    assert alert["state"] == "resolved"
    await fleet.send(device, "temperature", (60, 20), (120, 60))
    await fleet.evaluate()
    assert len(await fleet.alerts(rule)) == 1


async def test_changing_a_rule_applies_from_the_next_reading(fleet: Fleet) -> None:
    device = await fleet.device()
    rule = await fleet.rule(device, sensor_type="temperature", op=">", threshold=50)
    await fleet.send(device, "temperature", (0, 45))
    await fleet.evaluate()
    response = await fleet.server.client.patch(
        f"/admin/v1/alert-rules/{rule}", json={"threshold": 40}, headers=bearer(fleet.token)
    )
    assert response.status_code == 200, response.text
    assert response.json()["threshold"] == 40
    await fleet.send(device, "temperature", (60, 45))
    await fleet.evaluate()
    [alert] = await fleet.alerts(rule)
    assert alert["opened_at"] == iso(60)
