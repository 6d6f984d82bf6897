"""How values read on the dashboard: units, times, ages. Shared by pages and live updates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from climasense.sensor_types import NAMES

SENSOR_TYPES = list(NAMES)

UNITS = {
    "temperature": "°C",
    "humidity": "%",
    "pressure": "hPa",
    "power_availability": "",
    "battery_level": "%",
    "signal_strength": "dBm",
    "iaq": "",
}

LABELS = {
    "temperature": "Temperature",
    "humidity": "Humidity",
    "pressure": "Pressure",
    "power_availability": "Shore power",
    "battery_level": "Battery",
    "signal_strength": "Signal",
    "iaq": "Air quality (IAQ)",
}


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def timestamp(value: Any) -> str:
    """`2026-03-29 12:00:05 UTC`, or an em dash when there is none."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: Any, now: datetime | None = None) -> str:
    moment = parse_time(value)
    if moment is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 0:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def reading(sensor_type: str, value: Any) -> str:
    if value is None:
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if sensor_type == "power_availability":
        return "on" if number >= 0.5 else "off"
    if sensor_type in {"battery_level", "humidity", "iaq", "signal_strength"}:
        text = f"{number:.0f}"
    else:
        text = f"{number:.1f}"
    unit = UNITS.get(sensor_type, "")
    return f"{text} {unit}".strip()


def label(sensor_type: str) -> str:
    return LABELS.get(sensor_type, sensor_type.replace("_", " ").capitalize())


def coordinates(latitude: Any, longitude: Any) -> str:
    if latitude is None or longitude is None:
        return "—"
    lat, lon = float(latitude), float(longitude)
    return f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° {'E' if lon >= 0 else 'W'}"
