"""Request and response bodies of the operator command endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

CommandType = Literal["reboot", "config_update", "factory_reset", "diagnostics"]
CommandStatus = Literal["pending", "delivered", "acked", "failed", "expired", "cancelled"]


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: CommandType
    payload: dict[str, Any] | None = Field(
        default=None,
        description="Type-specific parameters (at most 64 KiB as JSON). Not allowed for "
        "`config_update`, which always carries the device's current settings document.",
    )
    ttl_seconds: int = Field(default=86_400, ge=1, le=86_400, strict=True)
    confirm: str | None = Field(
        default=None, description="`factory_reset` only: the device's serial number."
    )


class CommandView(BaseModel):
    # Reads `commands.repository.Command`'s attributes.
    model_config = ConfigDict(from_attributes=True)

    command_id: UUID
    device_id: UUID
    type: CommandType
    payload: dict[str, Any]
    status: CommandStatus = Field(
        description="`pending` (not fetched yet), `delivered` (fetched, not answered), "
        "`acked`, `failed`, `expired`, `cancelled`."
    )
    created_at: datetime
    expires_at: datetime
    delivered_at: datetime | None = Field(description="When the device first fetched it.")
    acked_at: datetime | None
    failed_at: datetime | None
    expired_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: Literal["operator", "superseded"] | None
    superseded_by: UUID | None = Field(
        description="The config_update that replaced this one (null when the device's own "
        "settings change did)."
    )
    settings_version: int | None = Field(description="config_update: the version it carries.")
    result: dict[str, Any] | None
    error_message: str | None


class CommandList(BaseModel):
    commands: list[CommandView]
    next_cursor: str | None
