"""The settings document and JSON Merge Patch (RFC 7396) of it, validated strictly.

Pure functions: no I/O. `merge_patch` either returns the whole new settings or raises one
`ValidationFailed` listing every offending field, so a bad patch never changes anything.

The document is typed here (`Settings`, `SettingsDocument`) and becomes JSON in one place,
`as_json()`: the patch is JSON by contract (RFC 7396 works on JSON objects), so the merge runs on
the JSON form and its result is read back into `Settings`.
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from climasense.errors import ValidationFailed
from climasense.sensor_types import NAMES

SENSOR_TYPES = NAMES  # CONTRACT §4.1
_SENSOR_SET = frozenset(SENSOR_TYPES)

WRITABLE_FIELDS = ("reporting_interval_seconds", "enabled_sensors", "location", "timezone")
_LOCATION_FIELDS = ("latitude", "longitude", "name")
INTERVAL_MIN, INTERVAL_MAX = 60, 3600
LOCATION_NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class Location:
    """CONTRACT `Location`. Coordinates are kept as stored (a JSON integer stays one)."""

    latitude: float
    longitude: float
    name: str | None = None

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Location:
        return cls(latitude=value["latitude"], longitude=value["longitude"], name=value.get("name"))

    def as_json(self) -> dict[str, Any]:
        # `name` is optional in the contract: absent, never null (a null member is removed).
        # Members in the order PostgreSQL's jsonb keeps them (shorter keys first), so a
        # document read back from the database serialises byte for byte as it always has.
        located: dict[str, Any] = {} if self.name is None else {"name": self.name}
        located["latitude"] = self.latitude
        located["longitude"] = self.longitude
        return located


@dataclass(frozen=True, slots=True)
class Settings:
    """The writable fields of the settings document (`WRITABLE_FIELDS`)."""

    reporting_interval_seconds: int
    enabled_sensors: tuple[str, ...]
    location: Location | None
    timezone: str

    @classmethod
    def from_json(cls, fields: Mapping[str, Any]) -> Settings:
        location = fields["location"]
        return cls(
            reporting_interval_seconds=fields["reporting_interval_seconds"],
            enabled_sensors=tuple(fields["enabled_sensors"]),
            location=None if location is None else Location.from_json(location),
            timezone=fields["timezone"],
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "reporting_interval_seconds": self.reporting_interval_seconds,
            "enabled_sensors": list(self.enabled_sensors),
            "location": None if self.location is None else self.location.as_json(),
            "timezone": self.timezone,
        }

    def changes_from(self, before: Settings) -> dict[str, Any]:
        """The fields that differ from `before`, with their new JSON values (audit details)."""
        now, then = self.as_json(), before.as_json()
        return {key: now[key] for key in WRITABLE_FIELDS if now[key] != then[key]}


@dataclass(frozen=True, slots=True)
class SettingsDocument:
    """A device's settings and their version (CONTRACT `DeviceSettings`; the ETag)."""

    settings: Settings
    version: int

    def as_json(self) -> dict[str, Any]:
        return {**self.settings.as_json(), "version": self.version}


# Files in the zoneinfo folder that are not IANA zone names.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


def is_iana_zone(name: str) -> bool:
    return name in _zones()


def _is_number(value: Any) -> bool:
    # bool is an int subclass in Python, but `true` is not a number in JSON.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (isinstance(value, int) or math.isfinite(value))
    )


class _Errors:
    def __init__(self) -> None:
        self.details: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.details.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        if self.details:
            raise ValidationFailed(
                "Settings are invalid; nothing was changed", details=self.details
            )


def _check_interval(value: Any, errors: _Errors) -> None:
    field = "reporting_interval_seconds"
    # Strict: 60.0 is a JSON number with a fraction part, not an integer (documented).
    if not isinstance(value, int) or isinstance(value, bool):
        errors.add(field, "must be an integer (a number without a decimal point)")
    elif not INTERVAL_MIN <= value <= INTERVAL_MAX:
        errors.add(field, f"must be between {INTERVAL_MIN} and {INTERVAL_MAX}, got {value}")


def _check_sensors(value: Any, errors: _Errors) -> None:
    field = "enabled_sensors"
    if not isinstance(value, list):
        errors.add(field, "must be an array of sensor types")
        return
    seen: set[str] = set()
    for index, sensor in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(sensor, str) or sensor not in _SENSOR_SET:
            errors.add(where, f"unknown sensor type; expected one of {', '.join(SENSOR_TYPES)}")
        elif sensor in seen:
            errors.add(where, f"{sensor} is listed more than once")
        else:
            seen.add(sensor)


def _check_timezone(value: Any, errors: _Errors) -> None:
    if not isinstance(value, str) or not is_iana_zone(value):
        errors.add("timezone", "must be an IANA time zone name, e.g. America/Los_Angeles")


def _merge_location(current: Any, patch: Any, errors: _Errors) -> dict[str, Any] | None:
    """RFC 7396 on the nested object: members merge, a `null` member removes that member."""
    if patch is None:
        return None
    if not isinstance(patch, dict):
        errors.add("location", "must be an object with latitude and longitude, or null")
        return None
    merged: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
    for key, value in patch.items():
        if key not in _LOCATION_FIELDS:
            errors.add(f"location.{key}", "unknown field")
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    for axis, limit in (("latitude", 90), ("longitude", 180)):
        value = merged.get(axis)
        if value is None:
            errors.add(f"location.{axis}", "is required (the merged location must have it)")
        elif not _is_number(value):
            errors.add(f"location.{axis}", "must be a number")
        elif not -limit <= value <= limit:
            errors.add(f"location.{axis}", f"must be between -{limit} and {limit}")
        else:
            merged[axis] = float(value)
    name = merged.get("name")
    if name is not None:
        if not isinstance(name, str):
            errors.add("location.name", "must be a string or null")
        elif len(name) > LOCATION_NAME_MAX:
            errors.add("location.name", f"must be at most {LOCATION_NAME_MAX} characters")
    return merged


def merge_patch(settings: Settings, patch: Any) -> Settings:
    """The settings after applying `patch` (a JSON Merge Patch, as received) to `settings`."""
    errors = _Errors()
    if not isinstance(patch, dict):
        errors.add("body", "must be a JSON object (a merge patch of the settings document)")
        errors.raise_if_any()
    current = settings.as_json()
    merged = dict(current)
    for key, value in patch.items():
        if key == "version":
            errors.add("version", "is not writable; send the ETag in If-Match instead")
        elif key not in WRITABLE_FIELDS:
            errors.add(key, "unknown field")
        elif key == "location":
            merged["location"] = _merge_location(current.get("location"), value, errors)
        elif value is None:
            errors.add(key, "cannot be removed (only location may be null)")
        elif key == "reporting_interval_seconds":
            _check_interval(value, errors)
            merged[key] = value
        elif key == "enabled_sensors":
            _check_sensors(value, errors)
            merged[key] = value
        else:
            _check_timezone(value, errors)
            merged[key] = value
    errors.raise_if_any()
    return Settings.from_json(merged)
