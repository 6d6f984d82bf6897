"""One virtual device (standalone or hub, with its Zigbee sensors) speaking the device API.

Its loop: report telemetry every interval, poll and acknowledge commands, check for firmware
and walk an update through download → verify (sha256, and with a fleet public key the
Ed25519 signature of CONTRACT §12) → apply with a status report at each step. A hub first registers its sensors, then reports for them with their `sensor_id`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from climasense.ota import signing
from climasense.simulator import physics
from climasense.simulator.client import Answer, DeviceClient
from climasense.simulator.schedule import Schedule

log = logging.getLogger(__name__)

MAX_READINGS_PER_POST = 100
# Backfill the last two days densely (the 24 h chart's 5-minute buckets), older days sparsely.
RECENT_BACKFILL = timedelta(hours=48)
DEFAULT_SENSORS = {
    "standalone": list(physics.RANGES),
    "hub": ["temperature", "humidity", "power_availability", "signal_strength"],
    "zigbee_sensor": ["temperature", "humidity", "battery_level"],
}


MAX_DOWNLOAD_ATTEMPTS = 4  # the first try and three resumes


class PartialImage:
    """The firmware bytes received so far, hashed as they arrive (never held whole), and what a
    resumed request needs: `Range` from the next byte, `If-Range` with the image's ETag."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0
        self.etag: str | None = None

    def start(self, response: Answer) -> None:
        resumed = response.status_code == 206 and response.headers.get(
            "content-range", ""
        ).startswith(f"bytes {self.size}-")
        if not resumed:  # a whole image (the server ignored or refused the range): start over
            self.digest = hashlib.sha256()
            self.size = 0
        self.etag = response.headers.get("etag") or self.etag

    def add(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.size += len(chunk)

    def resume_headers(self) -> dict[str, str]:
        if not self.size or not self.etag:
            return {}
        return {"Range": f"bytes={self.size}-", "If-Range": self.etag}


@dataclass
class Identity:
    device_id: str
    serial_number: str
    api_key: str
    kind: str
    model: str = ""
    batch: str = ""


@dataclass
class Sensor:
    """A Zigbee sensor as its hub knows it."""

    identity: Identity
    physics: physics.Physics
    sensor_id: str | None = None

    @property
    def ieee_address(self) -> str:
        return "0x00124b00" + self.identity.device_id.replace("-", "")[:8]


@dataclass
class Timing:
    interval: float = 10.0  # seconds between telemetry posts (None in settings → this)
    command_poll: float = 5.0
    ota_check: float = 30.0
    ota_failure_rate: float = 0.0  # share of updates that fail while applying (demo of auto-pause)
    follow_settings_interval: bool = False


@dataclass
class VirtualDevice:
    identity: Identity
    client: DeviceClient
    physics: physics.Physics
    timing: Timing
    rng: random.Random
    latitude: float
    longitude: float
    sensors: list[Sensor] = field(default_factory=list)
    firmware_version: str = "1.0.0"
    enabled_sensors: list[str] = field(default_factory=list)
    settings_version: int | None = None
    started: float = field(default_factory=time.monotonic)
    readings_sent: int = 0
    failed_versions: set[str] = field(default_factory=set)
    # The fleet owner's key: with one, only images it signed are applied (CONTRACT §12).
    firmware_public_key: Ed25519PublicKey | None = None
    ready: bool = False
    _last_sample: datetime | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def setup(self) -> None:
        """Read settings and (a hub) register its sensors; once."""
        if self.ready:
            return
        self.ready = True
        self.enabled_sensors = list(DEFAULT_SENSORS.get(self.identity.kind, []))
        response = await self.client.request("GET", "/v1/settings")
        if response is not None and response.status_code == 200:
            self.apply_settings(response.json())
        if self.identity.kind == "hub":
            for sensor in self.sensors:
                await self.register(sensor)

    def apply_settings(self, document: dict[str, Any]) -> None:
        sensors = document.get("enabled_sensors")
        if isinstance(sensors, list):
            self.enabled_sensors = [s for s in sensors if s in physics.RANGES]
        if isinstance(document.get("version"), int):
            self.settings_version = document["version"]
        interval = document.get("reporting_interval_seconds")
        if self.timing.follow_settings_interval and isinstance(interval, int):
            self.timing.interval = float(interval)

    async def register(self, sensor: Sensor) -> None:
        response = await self.client.request(
            "POST",
            "/v1/hub/sensors",
            json={"sensor_api_key": sensor.identity.api_key, "ieee_address": sensor.ieee_address},
        )
        if response is not None and response.status_code in {200, 201}:
            sensor.sensor_id = str(response.json()["sensor_id"])
            self.client.stats.sensors_registered += 1

    async def run(self, deadline: float) -> None:
        """Run until `deadline` (a `time.monotonic()` value)."""
        await self.setup()
        schedule = Schedule(
            {
                "report": self.timing.interval,
                "commands": self.timing.command_poll,
                "ota": self.timing.ota_check,
            },
            time.monotonic(),
            self.rng,
        )
        while (now := time.monotonic()) < deadline:
            for task in schedule.due(now):
                if task == "report":
                    await self.report(datetime.now(UTC))
                    schedule.set_period("report", self.timing.interval, time.monotonic())
                elif task == "commands":
                    await self.poll_commands()
                else:
                    await self.check_ota()
            await asyncio.sleep(max(0.0, min(schedule.next_at(), deadline) - time.monotonic()))

    # -- telemetry -------------------------------------------------------------------------

    def readings_at(self, moment: datetime) -> list[dict[str, Any]]:
        """The device's readings (and its sensors', for a hub) at `moment`."""
        if self._last_sample is not None:
            seconds = max(0.0, (moment - self._last_sample).total_seconds())
            self.physics.advance(seconds)
            for sensor in self.sensors:
                sensor.physics.advance(seconds)
        self._last_sample = moment
        stamp = moment.isoformat().replace("+00:00", "Z")
        readings: list[dict[str, Any]] = [
            {"sensor_type": kind, "value": value, "timestamp": stamp}
            for kind, value in self.physics.sample(moment, self.enabled_sensors).items()
        ]
        for sensor in self.sensors:
            if sensor.sensor_id is None:
                continue
            for kind, value in sensor.physics.sample(
                moment, DEFAULT_SENSORS["zigbee_sensor"]
            ).items():
                readings.append(
                    {
                        "sensor_type": kind,
                        "value": value,
                        "timestamp": stamp,
                        "sensor_id": sensor.sensor_id,
                    }
                )
        return readings

    def position(self) -> tuple[float, float]:
        # A boat on its mooring swings a few metres around the berth.
        return (
            round(self.latitude + self.rng.gauss(0, 0.00003), 6),
            round(self.longitude + self.rng.gauss(0, 0.00003), 6),
        )

    async def post_readings(self, readings: list[dict[str, Any]]) -> bool:
        """Post in batches of at most 100; False once the server refuses them outright."""
        latitude, longitude = self.position()
        for start in range(0, len(readings), MAX_READINGS_PER_POST):
            batch = readings[start : start + MAX_READINGS_PER_POST]
            body = {"readings": batch, "latitude": latitude, "longitude": longitude}
            response = await self.client.request("POST", "/v1/telemetry", json=body)
            stats = self.client.stats
            if response is None or response.status_code != 202:
                return False
            result = response.json()
            stats.telemetry_posts += 1
            stats.readings_accepted += int(result.get("accepted", 0))
            stats.readings_rejected += int(result.get("rejected", 0))
            self.readings_sent += int(result.get("accepted", 0))
        return True

    async def report(self, moment: datetime) -> None:
        await self.post_readings(self.readings_at(moment))

    async def backfill(
        self, hours: float, step: timedelta, now: datetime, *, older_step: timedelta | None = None
    ) -> None:
        """Post the past `hours` of readings (so charts have history from the first minute):
        every `step` over the last two days, every `older_step` (if given) before that."""
        moment = now - timedelta(hours=hours)
        pending: list[dict[str, Any]] = []
        while moment < now - step / 2:
            pending += self.readings_at(moment)
            if len(pending) >= MAX_READINGS_PER_POST * 4:
                if not await self.post_readings(pending):
                    return
                pending = []
            recent = now - moment <= RECENT_BACKFILL
            moment += step if recent or older_step is None else older_step
        if pending:
            await self.post_readings(pending)

    # -- commands --------------------------------------------------------------------------

    async def poll_commands(self) -> None:
        response = await self.client.request("GET", "/v1/commands/pending")
        if response is None or response.status_code != 200:
            return
        for command in response.json().get("commands", []):
            await self.execute(command)

    def diagnostics(self) -> dict[str, Any]:
        return {
            "uptime_seconds": int(time.monotonic() - self.started),
            "firmware_version": self.firmware_version,
            "battery_level": round(self.physics.battery, 1),
            "shore_power": self.physics.shore_power,
            "signal_strength": self.physics.signal(),
            "readings_sent": self.readings_sent,
            "settings_version": self.settings_version,
            "paired_sensors": sum(1 for s in self.sensors if s.sensor_id),
            "free_heap_bytes": self.rng.randint(90_000, 140_000),
        }

    def outcome(self, command: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
        """(status, result, error message) of executing `command`."""
        kind = command.get("type")
        payload = command.get("payload") or {}
        if kind == "diagnostics":
            return "acked", self.diagnostics(), None
        if kind == "reboot":
            self.started = time.monotonic()
            return "acked", {"rebooted": True}, None
        if kind == "config_update":
            document = payload.get("settings", payload) if isinstance(payload, dict) else {}
            self.apply_settings(document)
            return "acked", {"applied_version": self.settings_version}, None
        if kind == "factory_reset":
            self.enabled_sensors = list(DEFAULT_SENSORS.get(self.identity.kind, []))
            self.readings_sent = 0
            return "acked", {"reset": True}, None
        return "failed", None, f"unsupported command type {kind!r}"

    async def execute(self, command: dict[str, Any]) -> None:
        status, result, error = self.outcome(command)
        body: dict[str, Any] = {"command_id": command["command_id"], "status": status}
        if result is not None:
            body["result"] = result
        if error is not None:
            body["error_message"] = error
        response = await self.client.request("POST", "/v1/commands/ack", json=body)
        if response is not None and response.status_code == 200:
            if status == "acked":
                self.client.stats.commands_acked += 1
            else:
                self.client.stats.commands_failed += 1

    # -- OTA -------------------------------------------------------------------------------

    async def check_ota(self) -> None:
        response = await self.client.request(
            "GET", "/v1/ota/check", params={"current_version": self.firmware_version}
        )
        if response is None or response.status_code != 200:
            return
        offer = response.json()
        if not offer.get("update_available"):
            return
        version = str(offer["version"])
        if version in self.failed_versions:
            return  # tried and failed; wait for a newer release rather than loop
        await self.update(
            version,
            str(offer.get("checksum", "")),
            int(offer.get("size_bytes", 0)),
            signature=offer.get("signature"),
        )

    async def report_ota(self, version: str, status: str, **extra: Any) -> None:
        await self.client.request(
            "POST", "/v1/ota/status", json={"version": version, "status": status, **extra}
        )

    async def update(
        self, version: str, checksum: str, size: int, *, signature: str | None = None
    ) -> bool:
        """Download, verify and apply `version`, reporting each step; True when completed."""
        await self.report_ota(version, "downloading", progress_percent=0)
        image = PartialImage()
        path = f"/v1/ota/download/{version}"
        for attempt in range(MAX_DOWNLOAD_ATTEMPTS):
            fetched = await self.client.stream_download(
                path, image.add, headers=image.resume_headers(), on_start=image.start
            )
            if fetched.complete:
                break
            if not fetched.interrupted or attempt == MAX_DOWNLOAD_ATTEMPTS - 1:
                return await self.fail(version, "download failed")
            # The link dropped mid-image: carry on from the last byte received.
            self.client.stats.downloads_resumed += 1
            if size:
                progress = min(99, 100 * image.size // size)
                await self.report_ota(version, "downloading", progress_percent=progress)
        await self.report_ota(version, "downloaded", progress_percent=100)
        await self.report_ota(version, "verifying")
        # The signature first: it covers the bytes received, whatever the server announced.
        problem = self.signature_problem(version, image, signature)
        if problem is not None:
            return await self.fail(version, problem)
        if checksum != f"sha256:{image.digest.hexdigest()}" or (size and image.size != size):
            return await self.fail(version, "checksum mismatch")
        await self.report_ota(version, "applying")
        if self.rng.random() < self.timing.ota_failure_rate:
            return await self.fail(version, "image rejected by bootloader")
        self.firmware_version = version
        self.started = time.monotonic()
        await self.report_ota(version, "completed")
        self.client.stats.ota_completed += 1
        return True

    def signature_problem(self, version: str, image: PartialImage, signature: object) -> str | None:
        """Why the received image must not be applied, or None (also None without a key)."""
        key = self.firmware_public_key
        if key is None:
            return None
        if not isinstance(signature, str) or not signature:
            return "signature missing: the image is unsigned"
        try:
            raw = signing.decode_signature(signature)
        except signing.SigningError as exc:
            return f"signature malformed: {exc}"
        signed = signing.manifest(
            self.identity.model, version, image.digest.hexdigest(), image.size
        )
        if not signing.verify(key, signed, raw):
            return "signature verification failed: image tampered with or signed by another key"
        return None

    async def fail(self, version: str, message: str) -> bool:
        self.failed_versions.add(version)
        await self.report_ota(version, "failed", error_message=message)
        self.client.stats.ota_failed += 1
        return False
