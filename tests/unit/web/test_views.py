"""The view objects read the operator API's JSON as sent: a member left out reads as None,
ids become text, and the few fields with a rule of their own (defaults, counts, nested views)
follow it."""

from __future__ import annotations

from climasense.web.views import AlertRule, Command, DeviceDetail, DeviceSettings, FirmwareImage


def test_members_are_read_as_sent_and_a_missing_one_is_none() -> None:
    image = FirmwareImage.from_json({"model": "CS-1", "version": "2.0.0", "size_bytes": 12})
    assert image == FirmwareImage("CS-1", "2.0.0", 12, None, None, None)
    command = Command.from_json({"command_id": 7, "type": "reboot", "result": {"ok": True}})
    assert (command.command_id, command.type, command.result) == ("7", "reboot", {"ok": True})
    assert command.acked_at is None


def test_ids_become_text_and_absent_ids_stay_none() -> None:
    rule = AlertRule.from_json({"rule_id": 12, "threshold": 0, "device_id": None})
    assert (rule.rule_id, rule.device_id, rule.threshold) == ("12", None, 0)


def test_a_device_detail_applies_its_own_rules() -> None:
    detail = DeviceDetail.from_json(
        {
            "device_id": "d-1",
            "tags": ["berth-4"],
            "latitude": 54.3,
            "open_alerts": [{}, {}],
            "latest_readings": [{"sensor_type": "temperature", "value": 21.5}, "junk"],
            "sensors": [{"sensor_id": 5, "ieee_address": "00:11"}],
        }
    )
    assert (detail.status, detail.online, detail.tags) == ("active", False, ("berth-4",))
    assert (detail.latitude, detail.longitude, detail.label) == (54.3, None, None)
    assert detail.open_alert_count == 2
    assert [(r.sensor_type, r.value, r.timestamp) for r in detail.latest_readings] == [
        ("temperature", 21.5, None)
    ]
    assert [(s.sensor_id, s.ieee_address, s.paired_at) for s in detail.sensors] == [
        ("5", "00:11", None)
    ]


def test_settings_read_their_location_only_when_it_is_an_object() -> None:
    settings = DeviceSettings.from_json(
        {"version": 3, "enabled_sensors": ["humidity"], "location": {"name": "Pier 2"}}
    )
    assert settings.enabled_sensors == ("humidity",)
    assert settings.location is not None
    assert (settings.location.name, settings.location.latitude) == ("Pier 2", None)
    assert DeviceSettings.from_json({"location": "nowhere"}).location is None
