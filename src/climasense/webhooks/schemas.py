"""Request and response bodies of the webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

DeliveryState = Literal["pending", "delivered", "failed", "cancelled"]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="http(s) URL to POST events to.")
    secret: str = Field(
        min_length=16,
        max_length=256,
        description="Signs every event (HMAC-SHA256); stored, never returned.",
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    webhook_id: UUID
    url: str
    created_at: datetime


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]
    next_cursor: str | None


class DeliveryAttempt(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryOut(BaseModel):
    # Reads `webhooks.repository.Delivery`'s attributes.
    model_config = ConfigDict(from_attributes=True)

    delivery_id: int
    event_type: Literal["alert.opened", "alert.resolved"]
    alert_id: UUID
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None = Field(description="Next try, while pending.")
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[DeliveryAttempt]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None
