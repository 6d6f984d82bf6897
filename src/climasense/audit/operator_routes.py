"""`GET /admin/v1/audit`: the audit trail, newest first (admin only, by admin.deps)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from climasense.audit import service
from climasense.audit.schemas import AuditEntry, AuditList
from climasense.http.operator_deps import ServicesDep
from climasense.http.params import UtcDatetime
from climasense.http.routing import JSONRoute

router = APIRouter(tags=["audit"], route_class=JSONRoute)


@router.get("/audit", response_model=AuditList)
async def list_audit(
    services: ServicesDep,
    actor_token_id: UUID | None = None,
    action: str | None = None,
    target_id: str | None = None,
    from_: Annotated[UtcDatetime | None, Query(alias="from")] = None,
    to: UtcDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditList:
    """Operator changes, newest first; `from` inclusive, `to` exclusive."""
    entries, next_cursor = await service.list_entries(
        services.pool,
        actor_token_id=actor_token_id,
        action=action,
        target_id=target_id,
        since=from_,
        until=to,
        cursor=cursor,
        limit=limit,
    )
    return AuditList(
        entries=[AuditEntry.model_validate(entry) for entry in entries], next_cursor=next_cursor
    )
