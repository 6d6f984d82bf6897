"""Parsing a registration body and the sensor list's cursor."""

from __future__ import annotations

import pytest

from climasense.errors import ValidationFailed
from climasense.hub.schemas import SensorRegistration, parse_registration


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
