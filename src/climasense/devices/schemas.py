"""Request and response bodies of the operator device endpoints."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from climasense.devices.selectors import Selector

DeviceKind = Literal["standalone", "hub", "zigbee_sensor"]

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class ProvisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DeviceKind
    model: str = Field(pattern=_NAME_PATTERN, description="Hardware model, e.g. `CS-100`.")
    batch: str = Field(pattern=_NAME_PATTERN, description="Manufacturing/rollout batch.")
    count: int = Field(default=1, ge=1, le=10_000)


class ProvisionedDevice(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: UUID
    serial_number: str
    api_key: str = Field(description="Shown only in this response; stored only as a hash.")
    kind: DeviceKind
    model: str
    batch: str


class ProvisionResponse(BaseModel):
    devices: list[ProvisionedDevice]


class DeviceSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: UUID
    serial_number: str
    kind: DeviceKind
    model: str
    batch: str
    status: Literal["active", "revoked", "decommissioned"]
    online: bool
    created_at: datetime
    last_seen_at: datetime | None
    firmware_version: str | None
    hub_id: UUID | None = None
    tags: list[str] = Field(default_factory=list)
    label: str | None = None


class LatestReading(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sensor_type: str
    value: float
    timestamp: datetime


class DeviceDetail(DeviceSummary):
    latitude: float | None = None
    longitude: float | None = None
    position_at: datetime | None = None
    ieee_address: str | None = None
    paired_at: datetime | None = Field(
        default=None, description="For a Zigbee sensor: when its hub (`hub_id`) paired it."
    )
    hub_serial_number: str | None = Field(
        default=None, description="For a Zigbee sensor: the serial number of its hub."
    )
    latest_readings: list[LatestReading] = Field(default_factory=list)
    # The served schema has always shown these two as free-form objects; typing them here
    # would change /openapi.json, so the typed rows the service gives (alerts, paired sensors)
    # become their JSON documents on the way in.
    open_alerts: list[dict[str, Any]] = Field(default_factory=list)
    sensors: list[dict[str, Any]] = Field(
        default_factory=list, description="For a hub: its paired Zigbee sensors."
    )
    settings_version: int | None = None
    applied_settings_version: int | None = None

    @field_validator("open_alerts", "sensors", mode="before")
    @classmethod
    def _documents(cls, value: Iterable[Any]) -> list[Any]:
        return [
            dataclasses.asdict(item)
            if dataclasses.is_dataclass(item) and not isinstance(item, type)
            else item
            for item in value
        ]


class DeviceList(BaseModel):
    devices: list[DeviceSummary]
    next_cursor: str | None


class ApiKeyResponse(BaseModel):
    device_id: UUID
    api_key: str


class RevokeResponse(BaseModel):
    device_id: UUID
    status: Literal["revoked"]


class DeviceUpdate(BaseModel):
    """Only the fields sent change; `label: null` clears the label."""

    model_config = ConfigDict(extra="forbid")

    tags: list[str] | None = Field(
        default=None, description="The whole new tag set (≤ 32, `[a-z0-9][a-z0-9_.:-]{0,62}`)."
    )
    label: str | None = Field(default=None, max_length=100)
    batch: str | None = Field(default=None, pattern=_NAME_PATTERN)


class BulkTagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    selector: Selector
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class BulkTagResponse(BaseModel):
    matched: int
