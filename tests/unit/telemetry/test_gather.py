"""`gather`: the compact columns of one group commit (device positions, epoch microseconds)."""

from __future__ import annotations

import asyncio
import calendar
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

from climasense.telemetry.writer import Submission, gather


def submission(
    device_id: UUID,
    readings: list[tuple[UUID | None, int, datetime]],
    *,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Submission:
    """Readings as (sensor id or None for the device's own, sensor type, timestamp)."""
    return Submission(
        device_id,
        [device_id if sensor is None else sensor for sensor, _, _ in readings],
        [sensor_type for _, sensor_type, _ in readings],
        [ts for _, _, ts in readings],
        [float(i) for i in range(len(readings))],
        [None if sensor is None else device_id for sensor, _, _ in readings],
        latitude,
        longitude,
        asyncio.get_running_loop().create_future(),
    )


def epoch_micros(ts: datetime) -> int:
    return calendar.timegm(ts.utctimetuple()) * 1_000_000 + ts.microsecond


async def test_devices_are_sent_once_and_readings_point_at_them() -> None:
    device, hub, sensor = uuid4(), uuid4(), uuid4()
    t = datetime(2026, 3, 29, 11, 59, 0, 123457, tzinfo=UTC)
    rows = gather(
        [
            submission(device, [(None, 1, t), (None, 2, t)], latitude=1.5, longitude=2.5),
            submission(hub, [(sensor, 1, t), (None, 7, t)]),
        ]
    )
    assert rows.devices == [device, hub, sensor]
    assert rows.subjects == [1, 1, 3, 2]
    assert rows.hubs == [None, None, 2, None]
    assert rows.sensor_types == [1, 2, 1, 7]
    assert rows.values == [0.0, 1.0, 0.0, 1.0]
    assert rows.owners == [0, 0, 1, 1]
    assert rows.repeats == [0, 0]
    # The hub, the device and the hub's sensor are all marked seen; only the device moved.
    assert rows.seen == {device: (1.5, 2.5), hub: (None, None), sensor: (None, None)}


async def test_timestamps_are_exact_epoch_microseconds_whatever_the_offset() -> None:
    utc = datetime(2026, 3, 29, 11, 59, 0, 999999, tzinfo=UTC)
    offset = utc.astimezone(timezone(timedelta(hours=-3, minutes=-30)))
    early = datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC)
    device = uuid4()
    rows = gather([submission(device, [(None, 1, utc), (None, 2, offset), (None, 3, early)])])
    assert rows.micros == [epoch_micros(utc), epoch_micros(utc), -999_999]


async def test_a_reading_repeated_inside_the_group_is_a_duplicate_of_its_request() -> None:
    device = uuid4()
    t = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    same_instant = t.astimezone(timezone(timedelta(hours=2)))
    rows = gather(
        [
            submission(device, [(None, 1, t)]),
            submission(device, [(None, 1, same_instant), (None, 2, t)]),
        ]
    )
    assert rows.repeats == [0, 1]
    assert rows.owners == [0, 1]
    assert rows.subjects == [1, 1]
    # A device's readings named by its own id as sensor id are the same subject too.
    again = gather([submission(device, [(None, 1, t)]), submission(device, [(device, 1, t)])])
    assert again.repeats == [0, 1]
