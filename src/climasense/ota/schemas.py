"""Operator API shapes for firmware and releases."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from climasense.devices.selectors import Selector


class Firmware(BaseModel):
    # Reads `ota.repository.FirmwareImage`'s attributes (`checksum` is a property there).
    model_config = ConfigDict(from_attributes=True)

    model: str
    version: str
    checksum: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    size_bytes: int
    release_notes: str | None
    created_at: datetime
    signature: str | None = Field(
        default=None, description="Base64 Ed25519 signature of the image's manifest, if signed."
    )
    signing_key_id: str | None = Field(
        default=None, description="Id of the trusted key that signed it (16 hex digits)."
    )


class FirmwareList(BaseModel):
    firmware: list[Firmware]
    next_cursor: str | None = None


class ReleaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batches: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Batches offered the image; may be left out when `selector` is given.",
    )
    selector: Selector | None = Field(
        default=None,
        description="Devices offered the image (besides `batches`: both must match). Only "
        "devices of the release's model are ever offered it.",
    )
    percentage: int = Field(
        default=100,
        ge=1,
        le=100,
        description="Offer to this share of the matching devices, picked by a stable hash of "
        "the device id (the same devices for the same percentage, in every release).",
    )
    failure_threshold_percent: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Pause when more than this share of finished devices failed (default 20).",
    )


class ReleaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    percentage: int = Field(ge=1, le=100, description="Widen only: never below the current one.")


class StatusCounts(BaseModel):
    """Devices whose latest report for this version is each status."""

    # Reads `ota.repository.DeviceCounts` (whose `stuck` the release shows on its own).
    model_config = ConfigDict(from_attributes=True)

    downloading: int
    downloaded: int
    verifying: int
    applying: int
    completed: int
    failed: int


class Release(BaseModel):
    # Reads `ota.releases.ReleaseProgress`'s attributes.
    model_config = ConfigDict(from_attributes=True)

    release_id: UUID
    model: str
    version: str
    batches: list[str]
    selector: dict[str, Any] | None = None  # the selector's JSON as kept with the release
    percentage: int = 100
    state: Literal["active", "paused", "cancelled"]
    pause_reason: str | None = Field(description="Why it is paused (automatic or operator).")
    auto_paused: bool
    failure_threshold_percent: float
    min_finished: int = Field(description="Finished devices needed before it may pause itself.")
    status_counts: StatusCounts
    stuck: int = Field(description="Devices in downloading…applying for too long (as failed).")
    devices_targeted: int
    devices_not_started: int
    finished: int = Field(description="completed + failed + stuck")
    failed_including_stuck: int
    failure_rate_percent: float | None
    evaluated_since: datetime = Field(
        description="Auto-pause counts reports since this time (creation or last resume)."
    )
    created_at: datetime
    updated_at: datetime


class ReleaseList(BaseModel):
    releases: list[Release]
    next_cursor: str | None
