"""Operator endpoints for alert rules and alerts."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from climasense.alerts import service
from climasense.alerts.schemas import (
    AlertList,
    AlertOut,
    AlertState,
    RuleCreate,
    RuleList,
    RuleOut,
    RulePatch,
    Severity,
)
from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404

router = APIRouter(tags=["alerts"], route_class=JSONRoute)


@router.post("/alert-rules", status_code=201, response_model=RuleOut)
async def create_rule(body: RuleCreate, services: ServicesDep, operator: AdminDep) -> RuleOut:
    """Create a rule; every evaluator applies it from its next batch, without a restart."""
    rule = await service.create_rule(services.pool, body, operator=operator)
    return RuleOut.model_validate(rule)


@router.get("/alert-rules", response_model=RuleList)
async def list_rules(
    services: ServicesDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RuleList:
    """Live rules, oldest first (the defaults and `device_offline` included)."""
    rules, next_cursor = await service.list_rules(services.pool, cursor, limit)
    return RuleList(rules=[RuleOut.model_validate(r) for r in rules], next_cursor=next_cursor)


@router.get("/alert-rules/{rule_id}", response_model=RuleOut)
async def get_rule(rule_id: str, services: ServicesDep) -> RuleOut:
    return RuleOut.model_validate(
        await service.get_rule(services.pool, uuid_or_404(rule_id, "Alert rule"))
    )


@router.patch("/alert-rules/{rule_id}", response_model=RuleOut)
async def update_rule(
    rule_id: str, body: RulePatch, services: ServicesDep, operator: AdminDep
) -> RuleOut:
    """Change a rule's name, condition, duration or severity. Its series restart from the
    next reading; alerts already open stay open until a reading clears them."""
    rule = await service.update_rule(
        services.pool, uuid_or_404(rule_id, "Alert rule"), body, operator=operator
    )
    return RuleOut.model_validate(rule)


@router.delete("/alert-rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: str, services: ServicesDep, operator: AdminDep) -> Response:
    """Delete a rule; its open alerts resolve now (webhooks get `alert.resolved`)."""
    await service.delete_rule(services.pool, uuid_or_404(rule_id, "Alert rule"), operator=operator)
    return Response(status_code=204)


@router.get("/alerts", response_model=AlertList)
async def list_alerts(
    services: ServicesDep,
    state: AlertState | None = None,
    device_id: UUID | None = None,
    severity: Severity | None = None,
    rule_id: UUID | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AlertList:
    """Alerts, newest `opened_at` first. `device_id` matches a device or a hub sensor."""
    alerts, next_cursor = await service.list_alerts(
        services.pool,
        state=state,
        device_id=device_id,
        severity=severity,
        rule_id=rule_id,
        cursor=cursor,
        limit=limit,
    )
    return AlertList(alerts=[AlertOut.model_validate(a) for a in alerts], next_cursor=next_cursor)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
async def acknowledge_alert(alert_id: str, services: ServicesDep, operator: AdminDep) -> AlertOut:
    """Acknowledge an open alert. It still resolves when a reading clears it, and until then
    still counts as the one open alert of its (rule, device, sensor)."""
    alert = await service.acknowledge(
        services.pool, uuid_or_404(alert_id, "Alert"), operator=operator
    )
    return AlertOut.model_validate(alert)
