"""Every rule of CONTRACT §4.1, on the function that applies them (both of its paths)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from climasense.errors import BadRequest, ValidationFailed
from climasense.telemetry.validation import Rejection, TimeWindow, ValidatedBatch, decode_batch

NOW = datetime(2026, 3, 29, 12, 0, 0, tzinfo=UTC)
WINDOW = TimeWindow.around(NOW, timedelta(days=90), timedelta(minutes=5))
TS = "2026-03-29T11:59:00Z"


def reading(**overrides: Any) -> dict[str, Any]:
    return {"sensor_type": "temperature", "value": 21.5, "timestamp": TS, **overrides}


def decode(body: Any, *, is_hub: bool = False) -> ValidatedBatch:
    return decode_batch(orjson.dumps(body), WINDOW, is_hub=is_hub)


def envelope_error(body: Any, raw: bytes | None = None) -> list[dict[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        decode_batch(raw if raw is not None else orjson.dumps(body), WINDOW, is_hub=False)
    assert caught.value.status == 422
    return caught.value.details


def only_error(body: Any, *, is_hub: bool = False) -> Rejection:
    batch = decode(body, is_hub=is_hub)
    assert batch.indexes == [], batch
    assert len(batch.errors) == 1
    return batch.errors[0]


def test_a_valid_batch_keeps_every_reading_with_its_type_code_and_time() -> None:
    batch = decode(
        {
            "latitude": 37.7749,
            "longitude": -122.4194,
            "readings": [
                reading(),
                reading(sensor_type="humidity", value=45),
                reading(
                    sensor_type="power_availability", value=1, timestamp="2026-03-29T13:59:00+02:00"
                ),
            ],
        }
    )
    assert batch.errors == []
    assert batch.total == 3
    assert batch.indexes == [0, 1, 2]
    assert batch.sensor_types == [1, 2, 4]
    assert batch.values == [21.5, 45.0, 1.0]
    assert batch.timestamps[2] == datetime(2026, 3, 29, 11, 59, tzinfo=UTC)
    assert (batch.latitude, batch.longitude) == (37.7749, -122.4194)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([reading()], "body"),
        ("readings", "body"),
        ({}, "readings"),
        ({"readings": []}, "readings"),
        ({"readings": {"0": reading()}}, "readings"),
        ({"readings": [reading()] * 101}, "readings"),
        ({"readings": [reading(), reading(), reading(), "x"]}, "readings[3]"),
        ({"readings": [reading(), None]}, "readings[1]"),
        ({"readings": [reading()], "extra": 1}, "extra"),
        ({"readings": [reading()], "latitude": 91, "longitude": 0}, "latitude"),
        ({"readings": [reading()], "latitude": 0, "longitude": -180.5}, "longitude"),
        ({"readings": [reading()], "latitude": "1", "longitude": 0}, "latitude"),
        ({"readings": [reading()], "latitude": True, "longitude": 0}, "latitude"),
        ({"readings": [reading()], "latitude": None, "longitude": 0}, "latitude"),
        ({"readings": [reading()], "latitude": 10}, "longitude"),
        ({"readings": [reading()], "longitude": 10}, "latitude"),
    ],
)
def test_envelope_errors_reject_the_request_naming_the_field(body: Any, field: str) -> None:
    details = envelope_error(body)
    assert field in [d["field"] for d in details], details


def test_every_envelope_problem_is_listed() -> None:
    details = envelope_error({"readings": [reading(), 7, "x"], "foo": 1, "latitude": 100})
    assert {d["field"] for d in details} == {"readings[1]", "readings[2]", "foo", "latitude"}


def test_100_readings_are_allowed() -> None:
    readings = [reading(timestamp=f"2026-03-29T11:{m:02d}:00Z") for m in range(50)] * 2
    assert len(decode({"readings": readings}).indexes) == 100


@pytest.mark.parametrize(
    "raw", [b"{", b'{"readings": NaN}', b'{"readings": [{"value": Infinity}]}', b"\xff", b""]
)
def test_text_that_is_not_json_is_400(raw: bytes) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_batch(raw, WINDOW, is_hub=False)
    assert caught.value.status == 400
    assert caught.value.error_code == "invalid_json"


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (reading(sensor_type="co2"), "unknown_sensor_type"),
        (reading(sensor_type=None), "unknown_sensor_type"),
        (reading(sensor_type=3), "unknown_sensor_type"),
        ({"value": 1, "timestamp": TS}, "unknown_sensor_type"),
        (reading(value=125.0001), "out_of_range"),
        (reading(value=-60.5), "out_of_range"),
        (reading(sensor_type="humidity", value=145.0), "out_of_range"),
        (reading(sensor_type="humidity", value=-0.1), "out_of_range"),
        (reading(sensor_type="pressure", value=299), "out_of_range"),
        (reading(sensor_type="pressure", value=1100.5), "out_of_range"),
        (reading(sensor_type="power_availability", value=0.5), "out_of_range"),
        (reading(sensor_type="power_availability", value=2), "out_of_range"),
        (reading(sensor_type="battery_level", value=101), "out_of_range"),
        (reading(sensor_type="signal_strength", value=1), "out_of_range"),
        (reading(sensor_type="signal_strength", value=-151), "out_of_range"),
        (reading(sensor_type="iaq", value=500.1), "out_of_range"),
        (reading(sensor_type="iaq", value=-1), "out_of_range"),
        (reading(value="21.5"), "invalid_value"),
        (reading(value=True), "invalid_value"),
        (reading(sensor_type="power_availability", value=False), "invalid_value"),
        (reading(value=None), "invalid_value"),
        (reading(value=[1]), "invalid_value"),
        ({"sensor_type": "temperature", "timestamp": TS}, "invalid_value"),
        (reading(timestamp="2026-03-29T11:59:00"), "invalid_timestamp"),
        (reading(timestamp="yesterday"), "invalid_timestamp"),
        (reading(timestamp="2026-02-30T11:59:00Z"), "invalid_timestamp"),
        (reading(timestamp=1774785540), "invalid_timestamp"),
        (reading(timestamp=None), "invalid_timestamp"),
        ({"sensor_type": "temperature", "value": 1}, "invalid_timestamp"),
        (reading(timestamp="2026-03-29T12:05:01Z"), "timestamp_in_future"),
        (reading(timestamp="2026-03-29T14:05:01+02:00"), "timestamp_in_future"),
        (reading(timestamp="2025-12-29T11:59:59Z"), "timestamp_too_old"),
        (reading(timestamp="1970-01-01T00:00:00Z"), "timestamp_too_old"),
    ],
)
def test_a_bad_reading_is_rejected_alone_with_its_index(bad: dict[str, Any], code: str) -> None:
    batch = decode({"readings": [reading(), bad, reading(sensor_type="humidity", value=50)]})
    assert batch.indexes == [0, 2]
    assert batch.errors == [Rejection(1, code, batch.errors[0].message)]
    assert batch.errors[0].message


def test_range_edges_are_accepted() -> None:
    edges = [
        ("temperature", -60),
        ("temperature", 125),
        ("humidity", 0),
        ("humidity", 100),
        ("pressure", 300),
        ("pressure", 1100),
        ("power_availability", 0),
        ("power_availability", 1.0),
        ("battery_level", 0),
        ("battery_level", 100),
        ("signal_strength", -150),
        ("signal_strength", 0),
        ("iaq", 0),
        ("iaq", 500),
    ]
    batch = decode({"readings": [reading(sensor_type=t, value=v) for t, v in edges]})
    assert batch.errors == []
    assert len(batch.indexes) == len(edges)


def test_time_window_edges() -> None:
    batch = decode(
        {
            "readings": [
                reading(timestamp="2026-03-29T12:05:00Z"),
                reading(timestamp="2025-12-29T12:00:00Z"),
            ]
        }
    )
    assert batch.errors == []


def test_the_out_of_range_message_names_type_value_and_range() -> None:
    error = only_error({"readings": [reading(sensor_type="humidity", value=145.0)]})
    assert error.message == "humidity 145.0 is outside 0 .. 100"


def test_sensor_id_from_a_non_hub_is_rejected() -> None:
    error = only_error({"readings": [reading(sensor_id=str(uuid4()))]})
    assert error.error == "unknown_sensor"
    error = only_error({"readings": [reading(sensor_id="not-a-uuid")]})
    assert error.error == "unknown_sensor"


def test_a_hub_may_name_sensors_which_must_be_uuids() -> None:
    sensor = uuid4()
    batch = decode(
        {"readings": [reading(sensor_id=str(sensor)), reading(sensor_id="zigbee-7"), reading()]},
        is_hub=True,
    )
    assert batch.indexes == [0, 2]
    assert batch.sensor_ids == [sensor, None]
    assert batch.errors[0].index == 1
    assert batch.errors[0].error == "unknown_sensor"


def test_unknown_fields_inside_a_reading_are_ignored() -> None:
    batch = decode({"readings": [reading(unit="C")]})
    assert batch.indexes == [0]


def test_both_paths_store_the_same_key_for_the_same_reading() -> None:
    # Sub-microsecond digits: the typed path rounds them; the careful path (taken because of
    # the bad neighbour) must round the same way, or a retry would store the reading twice.
    odd = reading(timestamp="2026-03-29T11:59:00.123456789Z")
    typed = decode({"readings": [odd]})
    careful = decode({"readings": [odd, reading(value="x")]})
    assert typed.timestamps[0] == careful.timestamps[0]
    assert careful.errors[0].index == 1


def test_sensor_id_null_means_the_device_itself() -> None:
    batch = decode({"readings": [reading(sensor_id=None)]}, is_hub=True)
    assert batch.sensor_ids == [None]


def test_keep_only_moves_late_rejections_into_index_order() -> None:
    batch = decode({"readings": [reading(value=999), reading(), reading()]})
    batch.reject(1, "unknown_sensor", "not paired")
    batch.keep_only([False, True])
    assert batch.indexes == [2]
    assert [e.index for e in batch.errors] == [0, 1]
    assert isinstance(batch.sensor_ids, list)
    assert all(s is None or isinstance(s, UUID) for s in batch.sensor_ids)
