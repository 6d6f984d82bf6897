"""Reading telemetry back: raw points (keyset-paginated) or aggregated buckets.

Buckets whose width is a whole number of hours come from `readings_hourly` (kept exact at
ingest on plain PostgreSQL, a real-time continuous aggregate on TimescaleDB), so a year of
daily buckets reads ~9k rollup rows instead of ~3M readings; narrower buckets come from the
raw readings. Buckets are aligned on the Unix epoch (days start at 00:00 UTC) and always cover
whole intervals: `from` is rounded down and `to` up to a bucket boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from climasense.errors import NotFound, ValidationFailed
from climasense.http.responses import utc_now
from climasense.pagination import decode_cursor, split_page
from climasense.sensor_types import BY_CODE, BY_NAME, SENSOR_TYPES
from climasense.telemetry import repository
from climasense.telemetry.partitions import EPOCH
from climasense.telemetry.validation import AwareDatetime

MAX_BUCKETS = 10_000
DEFAULT_BUCKETS = 1_000
_BUCKET = re.compile(r"\A([1-9][0-9]{0,5})([smhd])\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
HOUR = timedelta(hours=1)
MAX_BUCKET_SECONDS = 366 * 86400


@dataclass(frozen=True, slots=True)
class ReportedPoint:
    """A reading as the telemetry endpoint reports it (`schemas.TelemetryPoint`)."""

    timestamp: datetime
    sensor_type: str
    sensor_id: UUID | None
    value: float


@dataclass(frozen=True, slots=True)
class PointsPage:
    points: list[ReportedPoint]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ReportedBucket:
    """One bucket as the telemetry endpoint reports it (`schemas.TelemetryBucket`)."""

    start: datetime
    sensor_type: str
    count: int
    avg: float
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class BucketSeries:
    buckets: list[ReportedBucket]


def invalid_field(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])


def parse_time(field: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        parsed = msgspec.convert(raw, AwareDatetime)
        parsed.astimezone(UTC)  # year 1 with a positive offset is year 0 in UTC: unstorable
    except (msgspec.ValidationError, OverflowError):
        raise invalid_field(field, "must be an RFC 3339 date-time with an offset or Z") from None
    return parsed


def parse_bucket(raw: str) -> timedelta:
    found = _BUCKET.match(raw)
    if found is None:
        raise invalid_field("bucket", "must be a width like 30s, 5m, 1h or 1d")
    seconds = int(found[1]) * _UNIT_SECONDS[found[2]]
    if seconds > MAX_BUCKET_SECONDS:
        raise invalid_field("bucket", "must be at most 366d")
    return timedelta(seconds=seconds)


def sensor_codes(raw: str | None) -> list[int]:
    if raw is None:
        return [t.code for t in SENSOR_TYPES]
    sensor_type = BY_NAME.get(raw)
    if sensor_type is None:
        raise invalid_field("sensor_type", f"must be one of {', '.join(BY_NAME)}")
    return [sensor_type.code]


async def subject_of(pool: asyncpg.Pool, device_id: UUID, sensor_id: UUID | None) -> UUID | None:
    """The device whose readings to read, and the `sensor_id` to report on each point.

    For a hub, `sensor_id` selects one of its paired sensors; a Zigbee sensor asked for
    directly reports its own id as `sensor_id`.
    """
    kind = await repository.device_kind(pool, device_id)
    if kind is None:
        raise NotFound("Device not found")
    if sensor_id is not None:
        if kind != "hub" or not await repository.sensor_of_hub(pool, device_id, sensor_id):
            raise NotFound("Sensor not found")  # as for a malformed id: byte-identical 404s
        return sensor_id
    return device_id if kind == "zigbee_sensor" else None


async def read_points(
    pool: asyncpg.Pool,
    device_id: UUID,
    *,
    sensor_type: str | None,
    sensor_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    cursor: str | None,
) -> PointsPage:
    codes = sensor_codes(sensor_type)
    after = decode_cursor(cursor, int, kind="telemetry") if cursor else None
    reported_sensor = await subject_of(pool, device_id, sensor_id)
    subject = sensor_id or device_id
    rows = await repository.points(pool, subject, codes, start, end, after, limit + 1)
    page, next_cursor = split_page(rows, limit, lambda p: (p.ts, p.sensor_type), kind="telemetry")
    points = [
        ReportedPoint(
            timestamp=row.ts,
            sensor_type=BY_CODE[row.sensor_type].name,
            sensor_id=reported_sensor,
            value=row.value,
        )
        for row in page
    ]
    return PointsPage(points=points, next_cursor=next_cursor)


def bucket_range(
    width: timedelta, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """[start, end) widened to whole buckets; by default the last DEFAULT_BUCKETS buckets."""
    end = end or utc_now()
    try:
        end_cell = EPOCH + ((end - EPOCH) // width) * width
        if end_cell < end:
            end_cell += width
        start = start if start is not None else end_cell - DEFAULT_BUCKETS * width
        start_cell = EPOCH + ((start - EPOCH) // width) * width
    except OverflowError:  # near year 1 or 9999: not a range anyone stores readings in
        raise invalid_field("from", "the range reaches past the supported dates") from None
    if (end_cell - start_cell) // width > MAX_BUCKETS:
        raise invalid_field(
            "bucket", f"the range holds more than {MAX_BUCKETS} buckets; narrow from/to"
        )
    return start_cell, end_cell


async def read_buckets(
    pool: asyncpg.Pool,
    device_id: UUID,
    *,
    sensor_type: str | None,
    sensor_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
    bucket: str,
) -> BucketSeries:
    codes = sensor_codes(sensor_type)
    width = parse_bucket(bucket)
    lower, upper = bucket_range(width, start, end)
    await subject_of(pool, device_id, sensor_id)
    subject = sensor_id or device_id
    from_rollups = width % HOUR == timedelta(0)
    fetch = repository.rollup_buckets if from_rollups else repository.raw_buckets
    rows = await fetch(pool, subject, codes, lower, upper, width)
    return BucketSeries(
        buckets=[
            ReportedBucket(
                start=row.start,
                sensor_type=BY_CODE[row.sensor_type].name,
                count=row.count,
                avg=row.avg,
                min=row.min,
                max=row.max,
            )
            for row in rows
        ]
    )
