"""Response bodies of the audit trail endpoint (CONTRACT §9)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from climasense.audit.repository import JsonObject


class AuditActor(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    token_id: UUID | None
    name: str
    role: str


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    audit_id: int
    at: datetime
    actor: AuditActor
    action: str
    target_type: str
    target_id: str | None
    details: JsonObject  # free-form: what the recording domain kept


class AuditList(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None
