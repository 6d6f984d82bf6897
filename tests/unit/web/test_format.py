from __future__ import annotations

from datetime import UTC, datetime, timedelta

from climasense.web import format

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_ages() -> None:
    assert format.ago(None) == "never"
    assert format.ago(NOW - timedelta(seconds=42), NOW) == "42 s ago"
    assert format.ago((NOW - timedelta(minutes=5)).isoformat(), NOW) == "5 min ago"
    assert format.ago("2026-04-29T12:00:00Z", NOW) == "2 d ago"
    assert format.ago(NOW + timedelta(seconds=3), NOW) == "just now"


def test_readings_with_units() -> None:
    assert format.reading("temperature", 21.456) == "21.5 °C"
    assert format.reading("power_availability", 0) == "off"
    assert format.reading("power_availability", 1.0) == "on"
    assert format.reading("signal_strength", -71.6) == "-72 dBm"
    assert format.reading("iaq", 51) == "51"
    assert format.reading("battery_level", None) == "—"


def test_coordinates_and_timestamps() -> None:
    assert format.coordinates(37.8083, -122.4156) == "37.80830° N, 122.41560° W"
    assert format.coordinates(None, 1) == "—"
    assert format.timestamp("2026-05-01T12:00:05+00:00") == "2026-05-01 12:00:05 UTC"
    assert format.timestamp("bogus") == "—"
