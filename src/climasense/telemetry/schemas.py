"""Response bodies of the operator telemetry endpoint (for the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class TelemetryPoint(BaseModel):
    timestamp: datetime
    sensor_type: str
    sensor_id: UUID | None = Field(
        description="The Zigbee sensor that took the reading; null for the device's own sensors."
    )
    value: float


class TelemetryPoints(BaseModel):
    points: list[TelemetryPoint]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page.")


class TelemetryBucket(BaseModel):
    start: datetime
    sensor_type: str
    count: int
    avg: float
    min: float
    max: float


class TelemetryBuckets(BaseModel):
    buckets: list[TelemetryBucket]
