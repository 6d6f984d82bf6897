"""Request and response bodies of the alert rule and alert endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from climasense.sensor_types import SensorTypeName

Op = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["info", "warning", "critical"]
AlertState = Literal["open", "acknowledged", "resolved"]
RuleKind = Literal["threshold", "device_offline"]

_BATCH_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_MAX_FOR_SECONDS = 7 * 24 * 3600


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: RuleKind = Field(
        default="threshold",
        description="`device_offline`: no telemetry for 3 × the device's reporting interval "
        "(takes no sensor_type/op/threshold).",
    )
    sensor_type: SensorTypeName | None = None
    op: Op | None = None
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    for_seconds: int = Field(default=0, ge=0, le=_MAX_FOR_SECONDS)
    severity: Severity
    clear_threshold: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Hysteresis: an open alert clears only when a reading crosses this value "
        "(`> 80` with 75 clears at ≤ 75; `>=` at < 75; `<`/`<=` mirror it).",
    )
    batch: str | None = Field(default=None, pattern=_BATCH_PATTERN)
    device_id: UUID | None = None


class RulePatch(BaseModel):
    """Fields to change (merge-patch): scope, kind and sensor type are fixed at creation."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    op: Op | None = None
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    for_seconds: int | None = Field(default=None, ge=0, le=_MAX_FOR_SECONDS)
    severity: Severity | None = None
    clear_threshold: float | None = Field(default=None, allow_inf_nan=False)


class RuleOut(BaseModel):
    """The response schema of a rule (`alerts.rules.Rule`, read from its attributes)."""

    model_config = ConfigDict(from_attributes=True)

    rule_id: UUID
    name: str
    kind: RuleKind
    sensor_type: SensorTypeName | None
    op: Op | None
    threshold: float | None
    clear_threshold: float | None
    for_seconds: int
    severity: Severity
    batch: str | None
    device_id: UUID | None
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    rules: list[RuleOut]
    next_cursor: str | None


class AlertOut(BaseModel):
    """The response schema of an alert (`alerts.repository.Alert`, read from its attributes)."""

    model_config = ConfigDict(from_attributes=True)

    alert_id: UUID
    rule_id: UUID
    device_id: UUID = Field(description="The device; for a hub's Zigbee sensor, the hub.")
    sensor_id: UUID | None = Field(description="The Zigbee sensor, for a hub sensor's alert.")
    sensor_type: SensorTypeName | None = Field(description="None for `device_offline`.")
    severity: Severity
    state: AlertState
    opened_at: datetime = Field(
        description="Reading time at which the condition had held for `for_seconds` "
        "(for `device_offline`, when the sweep found the device silent)."
    )
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    value: float | None = Field(
        description="Newest reading value that satisfied the condition while the alert was "
        "open (for `device_offline`, seconds of silence when it opened)."
    )
    resolved_value: float | None = Field(description="The reading that cleared the alert.")


class AlertList(BaseModel):
    alerts: list[AlertOut]
    next_cursor: str | None
