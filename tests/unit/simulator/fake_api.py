"""A stand-in for the server's device API (CONTRACT §4) at the HTTP level, for the simulator's
protocol tests. The live-server tests in tests/integration/simulator run against the real one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson


@dataclass
class FakeDeviceAPI:
    firmware: bytes = b""
    firmware_version: str = "1.1.0"
    corrupt_download: bool = False
    pending: list[dict[str, Any]] = field(default_factory=list)
    throttle_first: int = 0  # answer this many requests 429 first
    retry_after: str = "1"
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    ota_reports: list[dict[str, Any]] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    telemetry: list[dict[str, Any]] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content) if request.content else None
        path = request.url.path
        self.calls.append((request.method, path, body))
        if self.throttle_first > 0:
            self.throttle_first -= 1
            return httpx.Response(
                429,
                json={"error": "rate_limited", "message": "Too many", "details": []},
                headers={"Retry-After": self.retry_after},
            )
        if path == "/v1/telemetry":
            self.telemetry.append(body)
            n = len(body["readings"])
            return httpx.Response(
                202, json={"accepted": n, "rejected": 0, "duplicates": 0, "errors": []}
            )
        if path == "/v1/commands/pending":
            return httpx.Response(200, json={"commands": self.pending})
        if path == "/v1/commands/ack":
            self.acks.append(body)
            self.pending = [c for c in self.pending if c["command_id"] != body["command_id"]]
            return httpx.Response(
                200, json={"acknowledged": True, "timestamp": "2026-01-01T00:00:00Z"}
            )
        if path == "/v1/ota/check":
            if request.url.params["current_version"] == self.firmware_version:
                return httpx.Response(200, json={"update_available": False})
            return httpx.Response(
                200,
                json={
                    "update_available": True,
                    "version": self.firmware_version,
                    "checksum": "sha256:" + hashlib.sha256(self.firmware).hexdigest(),
                    "size_bytes": len(self.firmware),
                },
            )
        if path == f"/v1/ota/download/{self.firmware_version}":
            image = self.firmware[:-1] + b"X" if self.corrupt_download else self.firmware
            return httpx.Response(200, content=image)
        if path == "/v1/ota/status":
            self.ota_reports.append(body)
            return httpx.Response(200, json={"recorded": True, "timestamp": "2026-01-01T00:00:00Z"})
        if path == "/v1/settings":
            return httpx.Response(
                200,
                json={
                    "reporting_interval_seconds": 300,
                    "enabled_sensors": ["temperature", "battery_level"],
                    "location": None,
                    "timezone": "UTC",
                    "version": 3,
                },
            )
        if path == "/v1/hub/sensors":
            key = body["sensor_api_key"]
            return httpx.Response(
                201,
                json={"registered": True, "sensor_id": f"sid-{key}", "serial_number": "CS-ZB-1"},
            )
        return httpx.Response(
            404, json={"error": "not_found", "message": "Not found", "details": []}
        )
