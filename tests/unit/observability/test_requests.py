"""Request ids, access entries and route templates, without a server."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from starlette.responses import Response

from climasense.observability.logging import JsonFormatter, TextFormatter
from climasense.observability.requests import (
    ACCESS_LOGGER,
    AccessLog,
    Entry,
    RequestObserver,
    incoming_request_id,
    route_of,
)


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


def _flushed(access: AccessLog, capsys: pytest.CaptureFixture[str]) -> list[str]:
    access.flush()
    return capsys.readouterr().out.splitlines()


@pytest.fixture
def access_info() -> Iterator[None]:
    logger = logging.getLogger(ACCESS_LOGGER)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


def _entry(
    request_id: str = "rid",
    device: Any = None,
    token: Any = None,
    client: Any = None,
    status: int = 202,
    route: str = "/v1/telemetry",
) -> Entry:
    return (time.perf_counter(), "POST", route, status, 0.0123, request_id, device, token, client)


@pytest.mark.usefixtures("access_info")
def test_json_access_entries_are_valid_json_whatever_the_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    access = AccessLog("json")
    device = uuid4()
    access.entries.append(_entry('a"b\\c', device, None, ("10.0.0.1", 5)))
    [line] = _flushed(access, capsys)
    entry = json.loads(line)
    assert entry["request_id"] == 'a"b\\c'
    assert entry["device_id"] == str(device)
    assert entry["client"] == "10.0.0.1"
    assert entry["duration_ms"] == 12.3
    assert entry["logger"] == "climasense.access"
    assert entry["level"] == "info"
    assert entry["pid"] == os.getpid()
    assert entry["message"] == "POST /v1/telemetry 202"
    # The entry carries perf_counter(); the line has the wall-clock time.
    assert abs(datetime.fromisoformat(entry["ts"]).timestamp() - time.time()) < 0.05
    assert "token_id" not in entry


@pytest.mark.usefixtures("access_info")
def test_text_access_entries(capsys: pytest.CaptureFixture[str]) -> None:
    access = AccessLog("text")
    access.entries.append(_entry("rid", None, "tok-id", None, 200, "/admin/v1/devices"))
    [line] = _flushed(access, capsys)
    assert " INFO climasense.access: POST /admin/v1/devices 200 " in line
    assert "token_id=tok-id" in line
    assert "request_id=rid" in line
    assert "duration_ms=12.300 " in line
    assert abs(datetime.fromisoformat(line.split(" ", 1)[0]).timestamp() - time.time()) < 0.05


@pytest.mark.usefixtures("access_info")
def test_each_entry_has_its_own_fields_whatever_the_cached_fragments(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fragments are cached per route and status, per identifier object and per client: an
    entry never shows another one's values, even when an identifier's id() is reused."""
    access = AccessLog("json")
    devices = [uuid4() for _ in range(3)]
    statuses = [202, 429, 202]
    clients = [("10.0.0.1", 1), "10.0.0.2", ("10.0.0.1", 2)]
    for device, status, client in zip(devices, statuses, clients, strict=True):
        access.entries.append(_entry(f"id-{status}", device, None, client, status))
    access.entries.append(_entry("token", None, devices[0], None, 200, "/admin/v1/devices"))
    lines = [json.loads(line) for line in _flushed(access, capsys)]
    assert [e["device_id"] for e in lines[:3]] == [str(d) for d in devices]
    assert [e["status"] for e in lines[:3]] == statuses
    assert [e["message"] for e in lines[:3]] == [f"POST /v1/telemetry {s}" for s in statuses]
    assert [e["client"] for e in lines[:3]] == ["10.0.0.1", "10.0.0.2", "10.0.0.1"]
    assert lines[3]["token_id"] == str(devices[0])
    assert "device_id" not in lines[3]
    assert "client" not in lines[3]
    # The same device again (its cached field) and an equal UUID in another object.
    again = UUID(str(devices[1]))
    access.entries += [_entry(device=devices[1]), _entry(device=again)]
    assert [json.loads(line)["device_id"] for line in _flushed(access, capsys)] == [
        str(devices[1])
    ] * 2
    # Another process (a worker forked after the first flush) shows its own pid.
    monkeypatch.setattr(os, "getpid", lambda: 4242)
    access.entries.append(_entry(device=devices[0]))
    [line] = _flushed(access, capsys)
    assert json.loads(line)["pid"] == 4242


def test_no_lines_when_the_access_logger_is_above_info(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        access = AccessLog("json")
        access.entries.append(_entry())
        assert _flushed(access, capsys) == []
        assert access.entries == []
        assert not access.enabled
    finally:
        logger.setLevel(level)


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


class _Router:
    """Stands in for the device router: names the route and device, returns a Response."""

    def __init__(self, device: UUID) -> None:
        self.device = device

    async def handle(self, scope: dict[str, Any], receive: Any) -> Response:
        scope["climasense.route"] = "/v1/telemetry"
        scope["climasense.device_id"] = self.device
        return Response(b"{}", 202, media_type="application/json")


async def test_the_device_path_echoes_or_generates_ids_and_gives_one_entry_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        access = AccessLog("json")
        observer = RequestObserver(Response(), access)
        device = uuid4()
        router: Any = _Router(device)
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        answered: list[str] = []
        for incoming in [None, b"trace-1", None, b"x" * 129]:
            headers = [(b"host", b"x")]
            if incoming is not None:
                headers.append((b"x-request-id", incoming))
            scope = {
                "type": "http",
                "method": "POST",
                "path": "/v1/telemetry",
                "headers": headers,
                "client": ("10.0.0.9", 4),
            }
            await observer.device(router, scope, receive, send)
            start = sent[-2]
            assert start["status"] == 202
            answered.append(dict(start["headers"])[b"x-request-id"].decode())
        assert answered[1] == "trace-1"
        generated = [answered[0], answered[2], answered[3]]
        assert len(set(generated)) == 3
        # A per-process prefix of 16 hex digits, then a decimal counter.
        prefix = generated[0][:16]
        assert generated == [f"{prefix}{n}" for n in (1, 2, 3)]
        assert all(c in "0123456789abcdef" for c in prefix)
        assert RequestObserver(Response(), access)._next_id()[:16] != prefix
        lines = [json.loads(line) for line in _flushed(access, capsys)]
        assert [e["request_id"] for e in lines] == answered
        assert all(e["device_id"] == str(device) for e in lines)
        assert all(e["route"] == "/v1/telemetry" and e["status"] == 202 for e in lines)
        assert all(e["client"] == "10.0.0.9" for e in lines)
    finally:
        logger.setLevel(level)
