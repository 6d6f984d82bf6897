"""A simulated fleet: provisioned through the operator API (or read from a keys file), then
run concurrently until a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from climasense.simulator import physics
from climasense.simulator.client import ClientShards, DeviceClient, Stats
from climasense.simulator.device import Identity, Sensor, Timing, VirtualDevice

log = logging.getLogger(__name__)

# Berths of a marina; each device gets one a few hundred metres around this point.
MARINA = (37.8083, -122.4156)


class SimulationError(Exception):
    """The fleet could not be set up (bad token, unreachable server, malformed keys file)."""


@dataclass(frozen=True)
class Plan:
    devices: int = 0
    hubs: int = 0
    sensors_per_hub: int = 0
    model: str = "CS-100"
    hub_model: str = "CS-HUB-1"
    sensor_model: str = "CS-ZB-1"
    batch: str = "sim"
    # Tags given to every provisioned device (e.g. `canary`, for a targeted release demo).
    tags: tuple[str, ...] = ()


async def provision(http: httpx.AsyncClient, token: str, plan: Plan) -> list[dict[str, Any]]:
    """Create the plan's devices through `POST /admin/v1/devices` (keys are in the answer)."""
    wanted = [
        ("standalone", plan.model, plan.devices),
        ("hub", plan.hub_model, plan.hubs),
        ("zigbee_sensor", plan.sensor_model, plan.hubs * plan.sensors_per_hub),
    ]
    created: list[dict[str, Any]] = []
    for kind, model, count in wanted:
        while count > 0:
            chunk = min(count, 1000)
            response = await http.post(
                "/admin/v1/devices",
                json={"kind": kind, "model": model, "batch": plan.batch, "count": chunk},
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code != 201:
                raise SimulationError(
                    f"provisioning failed: HTTP {response.status_code} {response.text[:200]}"
                )
            created += response.json()["devices"]
            count -= chunk
    for start in range(0, len(created) if plan.tags else 0, 1000):
        ids = [d["device_id"] for d in created[start : start + 1000]]
        response = await http.post(
            "/admin/v1/devices/tags",
            json={"selector": {"device_ids": ids}, "add": list(plan.tags)},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 200:
            raise SimulationError(
                f"tagging failed: HTTP {response.status_code} {response.text[:200]}"
            )
    for device in created:
        device["tags"] = sorted(set(plan.tags))
    return created


def read_keys(path: Path) -> list[dict[str, Any]]:
    """Devices from a file as `climasense devices provision --json` prints them (or a list)."""
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SimulationError(f"cannot read keys from {path}: {exc}") from None
    devices = document.get("devices") if isinstance(document, dict) else document
    if not isinstance(devices, list) or not all(
        isinstance(d, dict) and {"device_id", "api_key", "kind"} <= d.keys() for d in devices
    ):
        raise SimulationError(f"{path}: expected {{'devices': [{{device_id, api_key, kind, …}}]}}")
    return devices


def save_keys(path: Path, devices: list[dict[str, Any]]) -> None:
    """Write provisioned keys for a later run (readable by this user only: they are secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps({"devices": devices}, option=orjson.OPT_INDENT_2))


def _identity(entry: dict[str, Any]) -> Identity:
    return Identity(
        device_id=str(entry["device_id"]),
        serial_number=str(entry.get("serial_number", "")),
        api_key=str(entry["api_key"]),
        kind=str(entry["kind"]),
        model=str(entry.get("model", "")),
        batch=str(entry.get("batch", "")),
    )


def _seed(device_id: str, base: int) -> int:
    return zlib.crc32(device_id.encode()) ^ base


def build_devices(
    entries: list[dict[str, Any]],
    http: httpx.AsyncClient | ClientShards,
    stats: Stats,
    timing: Timing,
    *,
    deadline: float,
    seed: int = 0,
    sensors_per_hub: int | None = None,
    firmware_public_key: Ed25519PublicKey | None = None,
) -> list[VirtualDevice]:
    """Virtual devices for the entries; Zigbee sensors are shared out among the hubs. `http` is
    one client for them all (a handful of devices, tests) or `ClientShards` (a fleet)."""
    identities = [_identity(e) for e in entries]
    reporters = [i for i in identities if i.kind in {"standalone", "hub"}]
    sensors = [i for i in identities if i.kind == "zigbee_sensor"]
    hubs = [i for i in reporters if i.kind == "hub"]
    devices: list[VirtualDevice] = []
    for index, identity in enumerate(reporters):
        client = http.for_device(index) if isinstance(http, ClientShards) else http
        rng = random.Random(_seed(identity.device_id, seed))
        latitude = MARINA[0] + rng.uniform(-0.003, 0.003)
        longitude = MARINA[1] + rng.uniform(-0.004, 0.004)
        device = VirtualDevice(
            identity=identity,
            client=DeviceClient(client, identity.api_key, stats, deadline=deadline),
            physics=physics.for_device(identity.kind, _seed(identity.device_id, seed), longitude),
            timing=Timing(**timing.__dict__),
            rng=rng,
            latitude=latitude,
            longitude=longitude,
            firmware_public_key=firmware_public_key,
        )
        if identity.kind == "hub":
            hub_index = hubs.index(identity)
            share = _share(sensors, len(hubs), hub_index, sensors_per_hub)
            device.sensors = [
                Sensor(s, physics.for_device("zigbee_sensor", _seed(s.device_id, seed), longitude))
                for s in share
            ]
        devices.append(device)
    return devices


def _share(sensors: list[Identity], hubs: int, index: int, per_hub: int | None) -> list[Identity]:
    if per_hub is not None:
        return sensors[index * per_hub : (index + 1) * per_hub]
    return sensors[index::hubs] if hubs else []


async def run_fleet(
    devices: list[VirtualDevice],
    deadline: float,
    *,
    backfill_hours: float = 0.0,
    on_progress: Callable[[], None] | None = None,
    progress_every: float = 10.0,
) -> None:
    """Run every device until `deadline` (monotonic); report progress now and then."""

    async def one(device: VirtualDevice) -> None:
        try:
            if backfill_hours > 0:
                await device.setup()
                # A real device's default interval (300 s) fills every 5-minute bucket.
                step = timedelta(seconds=max(device.timing.interval, 300))
                await device.backfill(
                    backfill_hours, step, datetime.now(UTC), older_step=timedelta(hours=1)
                )
            await device.run(deadline)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("virtual device %s stopped", device.identity.serial_number)

    async def progress() -> None:
        while on_progress is not None:
            await asyncio.sleep(progress_every)
            on_progress()

    reporter = asyncio.create_task(progress())
    try:
        await asyncio.gather(*(one(d) for d in devices))
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter


def deadline_after(seconds: float | None) -> float:
    # No --duration: run "for ever" (a year), until interrupted.
    return time.monotonic() + (seconds if seconds is not None else 365 * 86400.0)
