"""What the pages show, typed: the operator API's JSON answers read into view objects, here
and nowhere else (`data.py` calls these; pages, tables and templates read attributes).

Values keep their JSON form: times stay RFC 3339 text (`format` renders them), ids stay text,
numbers as sent, so a page renders exactly what the API said. A member the API left out reads
as None, as a missing key did in a template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

View = TypeVar("View", bound="DataclassInstance")


def _members(cls: type[View], body: Mapping[str, Any], **read: Any) -> View:
    """A view whose every field is the API member of that name, as sent (None when left out),
    except the fields given in `read` (ids made text, nested views, defaults)."""
    given = {f.name: body.get(f.name) for f in fields(cls) if f.name not in read}
    return cls(**given, **read)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value or [] if isinstance(item, Mapping)]


@dataclass(frozen=True, slots=True)
class LatestReading:
    sensor_type: str
    value: float | None
    timestamp: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> LatestReading:
        return _members(cls, body, sensor_type=str(body.get("sensor_type")))


@dataclass(frozen=True, slots=True)
class PairedSensor:
    """A Zigbee sensor paired to a hub, as its hub's page lists it."""

    sensor_id: str
    serial_number: str | None
    ieee_address: str | None
    last_seen_at: str | None
    paired_at: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> PairedSensor:
        return _members(cls, body, sensor_id=str(body.get("sensor_id")))


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    """A device as `GET /admin/v1/devices` lists it (`DeviceSummary`)."""

    device_id: str
    serial_number: str | None
    kind: str | None
    model: str | None
    batch: str | None
    status: str
    online: bool
    last_seen_at: str | None
    firmware_version: str | None
    hub_id: str | None
    tags: tuple[str, ...]
    label: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DeviceSummary:
        return _members(cls, body, **_summary_fields(body))


def _summary_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """How a device's listed fields are read where they are not as sent."""
    return {
        "device_id": str(body.get("device_id")),
        "status": body.get("status", "active"),
        "online": bool(body.get("online")),
        "hub_id": _text(body.get("hub_id")),
        "tags": tuple(body.get("tags") or ()),
    }


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    """One device (`GET /admin/v1/devices/{id}`), as its page shows it."""

    device_id: str
    serial_number: str | None
    kind: str | None
    model: str | None
    batch: str | None
    status: str
    online: bool
    last_seen_at: str | None
    firmware_version: str | None
    hub_id: str | None
    tags: tuple[str, ...]
    label: str | None
    latitude: float | None
    longitude: float | None
    hub_serial_number: str | None
    settings_version: int | None
    open_alert_count: int
    latest_readings: tuple[LatestReading, ...]
    sensors: tuple[PairedSensor, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DeviceDetail:
        return _members(
            cls,
            body,
            **_summary_fields(body),
            open_alert_count=len(body.get("open_alerts") or []),
            latest_readings=tuple(
                LatestReading.from_json(r) for r in _objects(body.get("latest_readings"))
            ),
            sensors=tuple(PairedSensor.from_json(s) for s in _objects(body.get("sensors"))),
        )


@dataclass(frozen=True, slots=True)
class FleetDevice:
    """A row of the fleet table: the listed device, its battery and signal readings (from the
    database) and its open alerts (None: this server has no alerts)."""

    device: DeviceSummary
    battery_level: float | None
    signal_strength: float | None
    open_alerts: int | None


@dataclass(frozen=True, slots=True)
class FleetCounts:
    total: int
    online: int
    offline: int
    alerting: int | None  # None: this server has no alerts


@dataclass(frozen=True, slots=True)
class SettingsLocation:
    latitude: float | None
    longitude: float | None
    name: str | None


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    """A device's settings document (CONTRACT `DeviceSettings`), for the settings form."""

    version: int | None
    reporting_interval_seconds: int | None
    enabled_sensors: tuple[str, ...]
    timezone: str | None
    location: SettingsLocation | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DeviceSettings:
        location = body.get("location")
        return _members(
            cls,
            body,
            enabled_sensors=tuple(body.get("enabled_sensors") or ()),
            location=_members(SettingsLocation, location)
            if isinstance(location, Mapping)
            else None,
        )


@dataclass(frozen=True, slots=True)
class Bucket:
    """A telemetry bucket of one sensor type; `low`/`high` are the average when the API gave
    no min/max."""

    start: str | None
    avg: Any  # a number when the bucket has readings (charts skip anything else)
    low: Any
    high: Any

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Bucket:
        avg = body.get("avg")
        return cls(
            start=body.get("start"),
            avg=avg,
            low=body.get("min", avg),
            high=body.get("max", avg),
        )


@dataclass(frozen=True, slots=True)
class Command:
    """A command in a device's history (`Command`); `result` is free-form JSON by contract."""

    command_id: str
    type: str | None
    status: str | None
    created_at: str | None
    delivered_at: str | None
    acked_at: str | None
    failed_at: str | None
    cancelled_at: str | None
    expired_at: str | None
    settings_version: int | None
    cancel_reason: str | None
    error_message: str | None
    result: Any

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Command:
        return _members(cls, body, command_id=str(body.get("command_id")))


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    device_id: str
    state: str
    severity: str | None
    sensor_type: str | None
    value: float | None
    opened_at: str | None
    resolved_at: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Alert:
        return _members(
            cls,
            body,
            alert_id=str(body.get("alert_id")),
            device_id=str(body.get("device_id")),
            state=str(body.get("state")),
        )


@dataclass(frozen=True, slots=True)
class AlertRule:
    rule_id: str | None
    name: str | None
    kind: str | None
    sensor_type: str | None
    op: str | None
    threshold: Any  # a number as the API sent it (shown as typed: `0`, not `0.0`)
    clear_threshold: Any
    for_seconds: int | None
    severity: str | None
    device_id: str | None
    batch: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> AlertRule:
        return _members(
            cls, body, rule_id=_text(body.get("rule_id")), device_id=_text(body.get("device_id"))
        )


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    """An uploaded image as `GET /admin/v1/firmware` lists it."""

    model: str | None
    version: str | None
    size_bytes: int | None
    checksum: str | None
    signing_key_id: str | None
    release_notes: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> FirmwareImage:
        return _members(cls, body)


@dataclass(frozen=True, slots=True)
class Release:
    """A release document (`GET /admin/v1/releases/{id}`, `ota.schemas.Release`): what the
    firmware page draws its rollout from."""

    release_id: str
    model: str | None
    version: str | None
    batches: tuple[str, ...]
    selector: Any  # the device selector, a JSON object shown as sent (or None)
    percentage: Any  # of the matching devices; 100 when the API gave none
    state: str
    pause_reason: str | None
    failure_threshold_percent: float | None
    created_at: str | None
    # Devices whose latest report for the version is each status.
    status_counts: Mapping[str, int]
    devices_targeted: int | None
    stuck: int
    failure_rate_percent: float | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Release:
        counts = body.get("status_counts")
        targeted = body.get("devices_targeted")
        stuck = body.get("stuck")
        rate = body.get("failure_rate_percent")
        reason = body.get("pause_reason")
        return cls(
            release_id=str(body.get("release_id")),
            model=body.get("model"),
            version=body.get("version"),
            batches=tuple(str(b) for b in body.get("batches") or ()),
            selector=body.get("selector"),
            percentage=body.get("percentage", 100),
            state=str(body.get("state") or "active"),
            pause_reason=str(reason) if reason else None,
            failure_threshold_percent=body.get("failure_threshold_percent"),
            created_at=body.get("created_at"),
            status_counts={str(k): int(v) for k, v in counts.items() if isinstance(v, int | float)}
            if isinstance(counts, Mapping)
            else {},
            devices_targeted=targeted if isinstance(targeted, int) else None,
            stuck=stuck if isinstance(stuck, int) else 0,
            failure_rate_percent=float(rate) if isinstance(rate, int | float) else None,
        )
