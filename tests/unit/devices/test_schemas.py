"""The device detail's response model reads the service's typed detail: the free-form
`open_alerts` and `sensors` (free-form in the served schema) come out as the same JSON
documents the rows describe."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from climasense.alerts.repository import Alert
from climasense.devices.repository import LatestReading, PairedSensor
from climasense.devices.schemas import DeviceDetail as DeviceDetailOut
from climasense.devices.service import DeviceDetail

T = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def detail(**changes: object) -> DeviceDetail:
    fields: dict[str, object] = {
        "device_id": uuid4(),
        "serial_number": "CS-HB-0000001",
        "kind": "hub",
        "model": "H-1",
        "batch": "b1",
        "status": "active",
        "online": True,
        "created_at": T,
        "last_seen_at": None,
        "firmware_version": None,
        "hub_id": None,
        "tags": ("lab", "roof"),
        "label": None,
        "latitude": None,
        "longitude": None,
        "position_at": None,
        "ieee_address": None,
        "paired_at": None,
        "hub_serial_number": None,
        "settings_version": 1,
        "applied_settings_version": None,
        "latest_readings": (),
        "open_alerts": (),
        "sensors": (),
    }
    fields.update(changes)
    return DeviceDetail(**fields)  # type: ignore[arg-type]


def test_typed_detail_becomes_the_served_json() -> None:
    alert = Alert(
        alert_id=uuid4(),
        rule_id=uuid4(),
        device_id=uuid4(),
        sensor_id=None,
        sensor_type="temperature",
        severity="warning",
        state="open",
        opened_at=T,
        resolved_at=None,
        acknowledged_at=None,
        value=55.0,
        resolved_value=None,
    )
    sensor = PairedSensor(
        sensor_id=uuid4(),
        serial_number="CS-ZB-0000002",
        ieee_address="0x1",
        last_seen_at=None,
        paired_at=T,
    )
    reading = LatestReading(sensor_type="temperature", value=21.5, timestamp=T)
    body = DeviceDetailOut.model_validate(
        detail(open_alerts=(alert,), sensors=(sensor,), latest_readings=(reading,))
    ).model_dump(mode="json")
    assert body["tags"] == ["lab", "roof"]
    assert body["latest_readings"] == [
        {"sensor_type": "temperature", "value": 21.5, "timestamp": "2026-11-30T12:00:00Z"}
    ]
    [document] = body["open_alerts"]
    assert list(document) == list(alert.document())
    assert document["alert_id"] == str(alert.alert_id)
    assert document["opened_at"] == "2026-11-30T12:00:00Z"
    assert document["value"] == 55.0
    assert body["sensors"] == [
        {
            "sensor_id": str(sensor.sensor_id),
            "serial_number": "CS-ZB-0000002",
            "ieee_address": "0x1",
            "last_seen_at": None,
            "paired_at": "2026-11-30T12:00:00Z",
        }
    ]
