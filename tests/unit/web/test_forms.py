"""What the dashboard's forms send to the operator API."""

from __future__ import annotations

from starlette.datastructures import FormData

from climasense.web.alerts_pages import rule_body, rule_condition, rule_scope
from climasense.web.device_pages import settings_patch
from climasense.web.views import AlertRule


def test_settings_form_becomes_a_whole_merge_patch() -> None:
    form = FormData(
        [
            ("reporting_interval_seconds", "120"),
            ("enabled_sensors", "temperature"),
            ("enabled_sensors", "humidity"),
            ("timezone", "Europe/Oslo"),
            ("latitude", "59.9"),
            ("longitude", "10.75"),
            ("location_name", "Berth 4"),
        ]
    )
    assert settings_patch(form) == {
        "reporting_interval_seconds": 120,
        "enabled_sensors": ["temperature", "humidity"],
        "timezone": "Europe/Oslo",
        "location": {"latitude": 59.9, "longitude": 10.75, "name": "Berth 4"},
    }


def test_blank_location_clears_it_and_no_sensors_means_none() -> None:
    patch = settings_patch(FormData([("reporting_interval_seconds", "60")]))
    assert patch["location"] is None
    assert patch["enabled_sensors"] == []


def test_non_numbers_go_through_for_the_api_to_refuse() -> None:
    patch = settings_patch(
        FormData([("reporting_interval_seconds", "ten"), ("latitude", "north"), ("longitude", "1")])
    )
    assert patch["reporting_interval_seconds"] == "ten"
    assert patch["location"]["latitude"] == "north"


def test_rule_form_scopes() -> None:
    base = [
        ("name", "Hot"),
        ("sensor_type", "temperature"),
        ("op", ">"),
        ("threshold", "30"),
        ("severity", "critical"),
    ]
    fleet = rule_body(FormData([*base, ("scope", "fleet"), ("batch", "ignored")]))
    assert fleet == {
        "name": "Hot",
        "sensor_type": "temperature",
        "op": ">",
        "threshold": 30,
        "severity": "critical",
    }
    batch = rule_body(
        FormData(
            [
                *base,
                ("scope", "batch"),
                ("batch", "marina-1"),
                ("for_seconds", "60"),
                ("clear_threshold", "28.5"),
            ]
        )
    )
    assert batch["batch"] == "marina-1"
    assert batch["for_seconds"] == 60
    assert batch["clear_threshold"] == 28.5
    device = rule_body(FormData([*base, ("scope", "device"), ("device_id", "abc")]))
    assert device["device_id"] == "abc"
    assert "batch" not in device


def test_rules_read_as_sentences() -> None:
    rule = {
        "sensor_type": "power_availability",
        "op": "==",
        "threshold": 0,
        "for_seconds": 120,
        "batch": "m1",
    }
    assert rule_condition(AlertRule.from_json(rule)) == "Shore power == 0 for 120 s"
    assert rule_scope(AlertRule.from_json(rule)) == "batch m1"
    assert rule_scope(AlertRule.from_json({})) == "whole fleet"
    device_id = "4c38294b-0279-40c6-bd0c-4d799405bae3"
    on_device = AlertRule.from_json({"device_id": device_id})
    assert rule_scope(on_device) == f"device {device_id}"
    assert rule_scope(on_device, {device_id: "CS-ST-0000001"}) == "device CS-ST-0000001"
    cleared = AlertRule.from_json({**rule, "threshold": 0.0, "clear_threshold": 2.5})
    assert rule_condition(cleared) == ("Shore power == 0 for 120 s (clears at 2.5)")


def test_a_device_offline_rule_sends_no_condition() -> None:
    form = FormData(
        [
            ("name", "Gone quiet"),
            ("kind", "device_offline"),
            ("sensor_type", "temperature"),
            ("op", ">"),
            ("threshold", ""),
            ("clear_threshold", "3"),
            ("severity", "warning"),
            ("scope", "batch"),
            ("batch", "marina-1"),
        ]
    )
    assert rule_body(form) == {
        "name": "Gone quiet",
        "kind": "device_offline",
        "severity": "warning",
        "batch": "marina-1",
    }
    assert rule_condition(AlertRule.from_json({"kind": "device_offline"})) == (
        "no telemetry for 3 × the reporting interval"
    )
