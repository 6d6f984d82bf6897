"""Request and response bodies of the operator job endpoints (CONTRACT §11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from climasense.devices.selectors import Selector


class JobCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="reboot, config_update or diagnostics (never factory_reset).")
    payload: dict[str, Any] | None = None  # free-form: the command's own JSON
    ttl_seconds: int = Field(default=86_400, ge=1, le=86_400)


class JobRequest(BaseModel):
    """Exactly one of `command` and `settings` (a merge patch of the settings document)."""

    model_config = ConfigDict(extra="forbid")

    selector: Selector
    command: JobCommand | None = None
    # A merge patch, checked field by field by the service (422 naming each bad one).
    settings: dict[str, Any] | None = None


class JobCounts(BaseModel):
    # Reads `jobs.repository.CommandCounts`.
    model_config = ConfigDict(from_attributes=True)

    queued: int
    delivered: int
    acked: int
    failed: int
    expired: int
    cancelled: int


class JobCreated(BaseModel):
    # Reads `jobs.service.JobProgress`'s attributes (so does `Job`).
    model_config = ConfigDict(from_attributes=True)

    job_id: UUID
    kind: Literal["command", "settings"]
    state: Literal["active", "completed", "cancelled"]
    target_count: int
    created_at: datetime


class Job(JobCreated):
    selector: dict[str, Any]  # the selector's JSON as kept with the job
    command_type: str | None = None
    counts: JobCounts
    cancelled_at: datetime | None = None


class JobList(BaseModel):
    jobs: list[Job]
    next_cursor: str | None
