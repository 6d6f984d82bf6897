"""Request ids, access entries and route templates, without a server."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from uuid import uuid4

import pytest

from climasense.observability.logging import JsonFormatter, TextFormatter
from climasense.observability.requests import AccessLog, incoming_request_id, route_of


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (b"abc-123", "abc-123"),
        (b'a"b\\c{}', 'a"b\\c{}'),
        (b"x" * 128, "x" * 128),
        (b"x" * 129, None),
        (b"", None),
        (b"with space", None),
        (b"tab\there", None),
        ("é".encode(), None),
    ],
)
def test_a_client_request_id_is_kept_only_when_visible_ascii(
    value: bytes, kept: str | None
) -> None:
    assert incoming_request_id([(b"host", b"x"), (b"x-request-id", value)]) == kept


def test_json_access_entries_are_valid_json_whatever_the_request_id() -> None:
    access = AccessLog("json")
    device = uuid4()
    at = time.time()
    line = access._format(
        (at, "POST", "/v1/telemetry", 202, 0.0123, 'a"b\\c', device, None, ("10.0.0.1", 5)), 7
    )
    entry = json.loads(line)
    assert entry["request_id"] == 'a"b\\c'
    assert entry["device_id"] == str(device)
    assert entry["client"] == "10.0.0.1"
    assert entry["duration_ms"] == 12.3
    assert entry["logger"] == "climasense.access"
    assert entry["level"] == "info"
    assert abs(datetime.fromisoformat(entry["ts"]).timestamp() - at) < 0.002
    assert "token_id" not in entry


def test_text_access_entries() -> None:
    line = AccessLog("text")._format(
        (time.time(), "GET", "/admin/v1/devices", 200, 0.001, "rid", None, "tok-id", None), 1
    )
    assert " INFO climasense.access: GET /admin/v1/devices 200 " in line
    assert "token_id=tok-id" in line
    assert "request_id=rid" in line


def test_route_of_prefers_the_device_routers_template() -> None:
    assert route_of({"climasense.route": "/v1/ota/download/{version}"}) == (
        "/v1/ota/download/{version}"
    )
    assert route_of({}) == "unmatched"


def test_the_json_formatter_has_the_contract_fields_and_extras() -> None:
    record = logging.LogRecord("climasense.x", logging.WARNING, "f", 1, "hello %s", ("you",), None)
    record.custom = 5
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello you"
    assert entry["level"] == "warning"
    assert entry["logger"] == "climasense.x"
    assert entry["custom"] == 5
    datetime.fromisoformat(entry["ts"])
    text = TextFormatter().format(record)
    assert "WARNING climasense.x: hello you custom=5" in text
