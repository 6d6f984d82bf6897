"""Parsing a registration body and the sensor list's cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from climasense.errors import ValidationFailed
from climasense.hub.schemas import (
    SensorRegistration,
    decode_cursor,
    encode_cursor,
    parse_registration,
)


def test_a_registration_with_and_without_an_address() -> None:
    assert parse_registration({"sensor_api_key": "k"}) == SensorRegistration("k", None)
    assert parse_registration(
        {"sensor_api_key": "k", "ieee_address": "0xABCDEF0123456789", "extra": 1}
    ) == SensorRegistration("k", "0xABCDEF0123456789")


@pytest.mark.parametrize(
    ("document", "fields"),
    [
        (None, ["body"]),
        ([], ["body"]),
        ({}, ["sensor_api_key"]),
        ({"sensor_api_key": ["k"]}, ["sensor_api_key"]),
        ({"sensor_api_key": 1, "ieee_address": "0x1"}, ["sensor_api_key", "ieee_address"]),
        ({"sensor_api_key": "k", "ieee_address": "0x0123456789abcdef "}, ["ieee_address"]),
        ({"sensor_api_key": "k", "ieee_address": "0x0123456789abcdeＦ"}, ["ieee_address"]),
        ({"sensor_api_key": "k", "ieee_address": False}, ["ieee_address"]),
    ],
)
def test_schema_problems_name_every_field(document: object, fields: list[str]) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_registration(document)
    assert raised.value.error_code == "validation_error"
    assert [d["field"] for d in raised.value.details] == fields


def test_a_cursor_round_trips() -> None:
    position = (datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC), uuid4())
    cursor = encode_cursor(*position)
    assert "=" not in cursor
    assert decode_cursor(cursor) == position


@pytest.mark.parametrize("cursor", ["", "%%%", "bnVsbA", "WzEsMl0", "WyJ4IiwieSJd"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(cursor)
    assert raised.value.details == [{"field": "cursor", "message": "not a cursor from this API"}]
