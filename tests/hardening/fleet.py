"""A small fleet for the hardening tests: a standalone device and a hub with a paired Zigbee
sensor, a firmware release offered to their batch, and commands waiting for the device — so
that generated and cross-tenant requests meet real state, not only empty tables."""

from __future__ import annotations

import hashlib
import importlib.util
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from climasense.api.device_routes import device_routes
from climasense.settings import RateLimit, Settings
from tests.support.factories import bearer

# The contract's examples name a 1 MiB image and a resume from byte 524288: the same size
# here makes those examples real requests (a 206), not an unsatisfiable range.
FIRMWARE = (b"firmware image for the hardening tests\n" * 30_000)[: 1024 * 1024]


@dataclass(frozen=True)
class Fleet:
    model: str
    batch: str
    device: dict[str, Any]
    hub: dict[str, Any]
    sensor: dict[str, Any]
    sensor_id: str
    firmware_version: str
    release_id: str
    command_ids: list[str]

    @property
    def device_id(self) -> str:
        return str(self.device["device_id"])

    @property
    def device_key(self) -> str:
        return str(self.device["api_key"])

    @property
    def hub_id(self) -> str:
        return str(self.hub["device_id"])

    @property
    def hub_key(self) -> str:
        return str(self.hub["api_key"])


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


async def build_fleet(
    client: httpx.AsyncClient, token: str, *, version: str = "1.3.0", model: str | None = None
) -> Fleet:
    """Create a fleet of its own batch (and model, unless given) through the operator and
    device APIs, with `version` uploaded for the model and released to the batch."""
    name = secrets.token_hex(4)
    model, batch = model or f"HX-{name}", f"batch-{name}"
    admin = bearer(token)

    async def provision(kind: str) -> dict[str, Any]:
        body = {"kind": kind, "model": model, "batch": batch, "count": 1}
        created = await _ok(await client.post("/admin/v1/devices", json=body, headers=admin))
        device: dict[str, Any] = created["devices"][0]
        return device

    device, hub, sensor = [await provision(k) for k in ("standalone", "hub", "zigbee_sensor")]
    paired = await _ok(
        await client.post(
            "/v1/hub/sensors",
            json={"sensor_api_key": sensor["api_key"], "ieee_address": "0x00124b001cce5a7d"},
            headers=bearer(hub["api_key"]),
        )
    )
    uploaded = await _ok(
        await client.put(
            f"/admin/v1/firmware/{model}/{version}",
            params={"release_notes": "hardening"},
            content=FIRMWARE,
            headers={**admin, "Content-Type": "application/octet-stream"},
        )
    )
    assert uploaded["checksum"] == "sha256:" + hashlib.sha256(FIRMWARE).hexdigest()
    release = await _ok(
        await client.post(
            f"/admin/v1/firmware/{model}/{version}/releases",
            json={"batches": [batch]},
            headers=admin,
        )
    )
    command_ids = []
    for kind in ("reboot", "diagnostics"):
        sent = await _ok(
            await client.post(
                f"/admin/v1/devices/{device['device_id']}/commands",
                json={"type": kind},
                headers=admin,
            )
        )
        command_ids.append(str(sent["command_id"]))
    return Fleet(
        model=model,
        batch=batch,
        device=device,
        hub=hub,
        sensor=sensor,
        sensor_id=str(paired["sensor_id"]),
        firmware_version=version,
        release_id=str(release["release_id"]),
        command_ids=command_ids,
    )


def unlimited() -> dict[str, RateLimit]:
    """Rate limits no test request reaches (thousands per minute from one key): for tests of
    something other than the limits."""
    return {name: RateLimit(1_000_000, 60) for name in Settings().rate_limits}


def telemetry_routed() -> bool:
    """Whether `POST /v1/telemetry` is routed (merged): the tests add telemetry load and
    telemetry cases then; until it is, test_routes.py is what fails."""
    return ("POST", "/v1/telemetry") in {(r.method, r.path) for r in device_routes()}


def alerts_routed() -> bool:
    """Whether the alert API (`/admin/v1/alert-rules`, `/admin/v1/alerts`) is merged."""
    return importlib.util.find_spec("climasense.alerts") is not None
