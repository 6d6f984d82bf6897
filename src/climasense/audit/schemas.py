"""Response bodies of the audit trail endpoint (CONTRACT §9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class AuditActor(BaseModel):
    token_id: UUID | None
    name: str
    role: str


class AuditEntry(BaseModel):
    audit_id: int
    at: datetime
    actor: AuditActor
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]


class AuditList(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None
