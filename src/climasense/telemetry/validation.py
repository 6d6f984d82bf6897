"""Validating a telemetry batch exactly as CONTRACT §4.1 says.

Envelope problems (not an object, unknown top-level field, `readings` missing/empty/too long/not
an array, a reading that is not an object, bad or lone `latitude`/`longitude`) reject the whole
request: `ValidationFailed` (422) with `details` naming each field. Problems of one reading
reject only that reading: it is listed in `errors` with its index and the rest is kept.

The common case is a batch where everything is well-typed: one msgspec typed decode (C speed,
no intermediate dicts) gets it, and only the range and time-window checks run in Python. Only
when that decode fails do we parse generically (orjson, which also decides 400 for text that
is not JSON) and look at every field by hand to say precisely what is wrong. Both paths parse
timestamps and sensor ids with msgspec, so a reading is stored under the same key whichever
path it took (msgspec rounds sub-microsecond digits, `fromisoformat` would truncate them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
import orjson

from climasense.errors import BadRequest, ValidationFailed
from climasense.sensor_types import BY_NAME

MAX_READINGS = 100
ALLOWED_FIELDS = frozenset({"readings", "latitude", "longitude"})

AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class _Reading(msgspec.Struct):
    # Unknown fields inside a reading are ignored: the schema only closes the envelope.
    sensor_type: str
    value: float
    timestamp: AwareDatetime
    sensor_id: UUID | None = None


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    readings: Annotated[list[_Reading], msgspec.Meta(min_length=1, max_length=MAX_READINGS)]
    # UNSET, not None: `"latitude": null` is not a number and must take the careful path (422).
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)] | msgspec.UnsetType = msgspec.UNSET
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)] | msgspec.UnsetType = msgspec.UNSET


_decoder = msgspec.json.Decoder(_Batch)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Timestamps a reading may carry: not older than the backfill limit, not in the future."""

    now: datetime
    oldest: datetime
    newest: datetime

    @classmethod
    def around(cls, now: datetime, backfill: timedelta, future: timedelta) -> TimeWindow:
        return cls(now, now - backfill, now + future)


# Not frozen, like `Ingested`: on the ingest path a frozen dataclass's __init__ (through
# object.__setattr__) cost ~630 ns against ~200 ns.
@dataclass(slots=True)
class Rejection:
    """A reading left out of a batch: its position in the request and why (CONTRACT §4.5)."""

    index: int
    error: str
    message: str


@dataclass(slots=True)
class ValidatedBatch:
    """The readings of one request that passed validation, as parallel lists in request order."""

    total: int
    indexes: list[int] = field(default_factory=list)
    sensor_types: list[int] = field(default_factory=list)
    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    sensor_ids: list[UUID | None] = field(default_factory=list)
    errors: list[Rejection] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None

    def reject(self, index: int, error: str, message: str) -> None:
        self.errors.append(Rejection(index, error, message))

    def keep_only(self, keep: list[bool]) -> None:
        """Drop the valid readings whose `keep` entry is False (checked later, e.g. sensors)."""
        self.indexes = [v for v, k in zip(self.indexes, keep, strict=True) if k]
        self.sensor_types = [v for v, k in zip(self.sensor_types, keep, strict=True) if k]
        self.timestamps = [v for v, k in zip(self.timestamps, keep, strict=True) if k]
        self.values = [v for v, k in zip(self.values, keep, strict=True) if k]
        self.sensor_ids = [v for v, k in zip(self.sensor_ids, keep, strict=True) if k]
        self.errors.sort(key=lambda e: e.index)


def decode_batch(raw: bytes, window: TimeWindow, *, is_hub: bool) -> ValidatedBatch:
    """Validate a request body; raise `BadRequest` (400) or `ValidationFailed` (422)."""
    try:
        typed = _decoder.decode(raw)
    except msgspec.ValidationError:
        return _decode_leniently(raw, window, is_hub=is_hub)
    except msgspec.DecodeError:
        # Not JSON at all (or JSON msgspec declines): orjson decides between 400 and the rest.
        return _decode_leniently(raw, window, is_hub=is_hub)
    latitude = None if typed.latitude is msgspec.UNSET else typed.latitude
    longitude = None if typed.longitude is msgspec.UNSET else typed.longitude
    _check_position_pair(latitude is not None, longitude is not None)
    batch = ValidatedBatch(total=len(typed.readings), latitude=latitude, longitude=longitude)
    for index, reading in enumerate(typed.readings):
        _check_reading(
            batch,
            index,
            reading.sensor_type,
            reading.value,
            reading.timestamp,
            reading.sensor_id,
            window,
            is_hub,
        )
    return batch


def _check_position_pair(has_latitude: bool, has_longitude: bool) -> None:
    if has_latitude and not has_longitude:
        raise ValidationFailed(
            "latitude and longitude go together",
            details=[{"field": "longitude", "message": "required when latitude is given"}],
        )
    if has_longitude and not has_latitude:
        raise ValidationFailed(
            "latitude and longitude go together",
            details=[{"field": "latitude", "message": "required when longitude is given"}],
        )


def _check_reading(
    batch: ValidatedBatch,
    index: int,
    type_name: str,
    value: float,
    timestamp: datetime,
    sensor_id: UUID | None,
    window: TimeWindow,
    is_hub: bool,
    bad_sensor_id: object = None,
) -> None:
    sensor_type = BY_NAME.get(type_name)
    if sensor_type is None:
        batch.reject(index, "unknown_sensor_type", f"unknown sensor_type {type_name!r}")
        return
    if not sensor_type.accepts(value):
        batch.reject(
            index,
            "out_of_range",
            f"{sensor_type.name} {value!r} is outside {sensor_type.describe_range()}",
        )
        return
    if timestamp > window.newest:
        batch.reject(
            index,
            "timestamp_in_future",
            f"timestamp {timestamp.isoformat()} is more than "
            f"{int((window.newest - window.now).total_seconds())} s in the future",
        )
        return
    if timestamp < window.oldest:
        batch.reject(
            index,
            "timestamp_too_old",
            f"timestamp {timestamp.isoformat()} is older than the backfill limit "
            f"({(window.now - window.oldest).days} days)",
        )
        return
    if (sensor_id is not None or bad_sensor_id is not None) and not is_hub:
        batch.reject(index, "unknown_sensor", "sensor_id is only accepted from hub devices")
        return
    if bad_sensor_id is not None:
        batch.reject(index, "unknown_sensor", f"sensor_id {bad_sensor_id!r} is not a sensor id")
        return
    batch.indexes.append(index)
    batch.sensor_types.append(sensor_type.code)
    batch.timestamps.append(timestamp)
    batch.values.append(value)
    batch.sensor_ids.append(sensor_id)


def _is_number(value: object) -> bool:
    # JSON true/false arrive as bool, a subclass of int: a boolean is not a number here.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decode_leniently(raw: bytes, window: TimeWindow, *, is_hub: bool) -> ValidatedBatch:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest() from None
    if not isinstance(body, dict):
        raise ValidationFailed(
            "The body must be a JSON object",
            details=[{"field": "body", "message": "must be a JSON object with `readings`"}],
        )
    details: list[dict[str, str]] = [
        {"field": str(name), "message": "unknown field"}
        for name in body
        if name not in ALLOWED_FIELDS
    ]
    readings = body.get("readings")
    if "readings" not in body:
        details.append({"field": "readings", "message": "is required"})
    elif not isinstance(readings, list):
        details.append({"field": "readings", "message": "must be an array of readings"})
    elif not readings:
        details.append({"field": "readings", "message": "must hold at least 1 reading"})
    elif len(readings) > MAX_READINGS:
        details.append(
            {"field": "readings", "message": f"must hold at most {MAX_READINGS} readings"}
        )
    else:
        details.extend(
            {"field": f"readings[{i}]", "message": "must be an object"}
            for i, reading in enumerate(readings)
            if not isinstance(reading, dict)
        )
    for name, limit in (("latitude", 90), ("longitude", 180)):
        if name in body:
            coordinate = body[name]
            if not _is_number(coordinate):
                details.append({"field": name, "message": "must be a number"})
            elif not -limit <= coordinate <= limit:
                details.append({"field": name, "message": f"must be between -{limit} and {limit}"})
    if details:
        raise ValidationFailed("The telemetry batch is invalid", details=details)
    _check_position_pair("latitude" in body, "longitude" in body)
    assert isinstance(readings, list)  # established above; narrows the type
    batch = ValidatedBatch(
        total=len(readings),
        latitude=float(body["latitude"]) if "latitude" in body else None,
        longitude=float(body["longitude"]) if "longitude" in body else None,
    )
    for index, reading in enumerate(readings):
        _check_loose_reading(batch, index, reading, window, is_hub)
    return batch


def _check_loose_reading(
    batch: ValidatedBatch, index: int, reading: dict[str, Any], window: TimeWindow, is_hub: bool
) -> None:
    type_name = reading.get("sensor_type")
    if not isinstance(type_name, str):
        message = "sensor_type is required" if type_name is None else "sensor_type must be a string"
        batch.reject(index, "unknown_sensor_type", message)
        return
    if type_name not in BY_NAME:
        batch.reject(index, "unknown_sensor_type", f"unknown sensor_type {type_name!r}")
        return
    value = reading.get("value")
    if not _is_number(value):
        message = "value is required" if "value" not in reading else "value must be a number"
        batch.reject(index, "invalid_value", message)
        return
    raw_timestamp = reading.get("timestamp")
    if not isinstance(raw_timestamp, str):
        batch.reject(index, "invalid_timestamp", "timestamp must be an RFC 3339 string")
        return
    try:
        timestamp = msgspec.convert(raw_timestamp, AwareDatetime)
    except msgspec.ValidationError:
        try:
            msgspec.convert(raw_timestamp, datetime)
        except msgspec.ValidationError:
            message = f"timestamp {raw_timestamp!r} is not an RFC 3339 date-time"
        else:
            message = f"timestamp {raw_timestamp!r} has no UTC offset (add Z or +hh:mm)"
        batch.reject(index, "invalid_timestamp", message)
        return
    raw_sensor_id = reading.get("sensor_id")
    sensor_id: UUID | None = None
    bad_sensor_id: object = None
    if raw_sensor_id is not None:
        try:
            sensor_id = msgspec.convert(raw_sensor_id, UUID)
        except msgspec.ValidationError:
            bad_sensor_id = raw_sensor_id
    assert isinstance(value, int | float)
    _check_reading(
        batch,
        index,
        type_name,
        float(value),
        timestamp,
        sensor_id,
        window,
        is_hub,
        bad_sensor_id=bad_sensor_id,
    )
