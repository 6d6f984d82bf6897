"""Merge patch and validation of the settings document (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from climasense.device_settings.document import (
    Location,
    Settings,
    SettingsDocument,
    is_iana_zone,
    merge_patch,
)
from climasense.device_settings.service import check_if_match
from climasense.errors import PreconditionFailed, ValidationFailed

CURRENT = Settings(
    reporting_interval_seconds=300,
    enabled_sensors=("temperature",),
    location=Location(latitude=1.0, longitude=2.0, name="Dock"),
    timezone="UTC",
)


def fields_of(patch: Any) -> set[str]:
    with pytest.raises(ValidationFailed) as caught:
        merge_patch(CURRENT, patch)
    return {d["field"] for d in caught.value.details}


def test_empty_patch_is_the_current_document() -> None:
    assert merge_patch(CURRENT, {}) == CURRENT


def test_nested_location_merges_and_null_members_are_removed() -> None:
    merged = merge_patch(CURRENT, {"location": {"latitude": 5, "name": None}})
    assert merged.location == Location(latitude=5.0, longitude=2.0)
    assert isinstance(merged.location.latitude, float)
    assert merge_patch(CURRENT, {"location": None}).location is None


def test_a_location_without_name_has_no_name_member() -> None:
    # CONTRACT Location: `name` is optional (absent), never null.
    document = SettingsDocument(
        settings=merge_patch(CURRENT, {"location": {"name": None}}), version=4
    )
    assert document.as_json() == {
        "reporting_interval_seconds": 300,
        "enabled_sensors": ["temperature"],
        "location": {"latitude": 1.0, "longitude": 2.0},
        "timezone": "UTC",
        "version": 4,
    }


def test_location_members_keep_the_order_jsonb_stores_them_in() -> None:
    # GET /v1/settings has always answered with the stored jsonb: `name` first.
    location = Location(latitude=1.0, longitude=2.0, name="Dock")
    assert list(location.as_json()) == ["name", "latitude", "longitude"]


def test_changes_from_lists_only_the_changed_fields_as_json() -> None:
    merged = merge_patch(CURRENT, {"enabled_sensors": [], "timezone": "UTC"})
    assert merged.changes_from(CURRENT) == {"enabled_sensors": []}


def test_every_bad_field_is_reported_at_once() -> None:
    assert fields_of(
        {
            "reporting_interval_seconds": 60.0,
            "enabled_sensors": ["co2"],
            "timezone": "Mars/Base",
            "version": 3,
            "extra": 1,
        }
    ) == {"reporting_interval_seconds", "enabled_sensors[0]", "timezone", "version", "extra"}


@pytest.mark.parametrize("value", [60, 3600, 61])
def test_interval_bounds_inclusive(value: int) -> None:
    assert (
        merge_patch(CURRENT, {"reporting_interval_seconds": value}).reporting_interval_seconds
        == value
    )


@pytest.mark.parametrize("value", [59, 3601, 60.0, False, "60", [60], None])
def test_interval_rejects(value: Any) -> None:
    assert fields_of({"reporting_interval_seconds": value}) == {"reporting_interval_seconds"}


def test_latitude_nan_and_infinity_are_not_numbers() -> None:
    for bad in (float("nan"), float("inf")):
        assert "location.latitude" in fields_of({"location": {"latitude": bad}})


def test_empty_sensor_list_is_allowed() -> None:
    assert merge_patch(CURRENT, {"enabled_sensors": []}).enabled_sensors == ()


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("UTC", True),
        ("America/Los_Angeles", True),
        ("America/Argentina/Buenos_Aires", True),
        ("Etc/GMT+5", True),
        ("localtime", False),
        ("posixrules", False),
        ("Factory", False),
        ("UTC ", False),
        ("/etc/localtime", False),
        ("America/../UTC", False),
    ],
)
def test_iana_zone_names(name: str, valid: bool) -> None:
    assert is_iana_zone(name) is valid


@pytest.mark.parametrize("header", [None, "*", '"7"', ' "7" ', '"3", "7"', '"7", *'])
def test_if_match_that_matches_version_7(header: str | None) -> None:
    check_if_match(header, 7)


@pytest.mark.parametrize("header", ['"6"', "7", 'W/"7"', '"07x"', "", '"77"', '""'])
def test_if_match_that_does_not(header: str) -> None:
    with pytest.raises(PreconditionFailed):
        check_if_match(header, 7)
