"""Operator endpoints for webhooks and their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404
from climasense.webhooks import service
from climasense.webhooks.schemas import (
    DeliveryList,
    DeliveryOut,
    DeliveryState,
    WebhookCreate,
    WebhookList,
    WebhookOut,
)

router = APIRouter(tags=["webhooks"], route_class=JSONRoute)


@router.post("/webhooks", status_code=201, response_model=WebhookOut)
async def create_webhook(
    body: WebhookCreate, services: ServicesDep, operator: AdminDep
) -> WebhookOut:
    """Register an endpoint for `alert.opened`/`alert.resolved` events, each signed
    `X-ClimaSense-Signature: sha256=<hex HMAC-SHA256(body, secret)>`. The secret is never
    returned."""
    return WebhookOut.model_validate(
        await service.create_webhook(
            services.pool,
            body.url,
            body.secret,
            allow_private_networks=services.settings.webhook_allow_private_networks,
            operator=operator,
        )
    )


@router.get("/webhooks", response_model=WebhookList)
async def list_webhooks(
    services: ServicesDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> WebhookList:
    webhooks, next_cursor = await service.list_webhooks(services.pool, cursor, limit)
    return WebhookList(
        webhooks=[WebhookOut.model_validate(w) for w in webhooks], next_cursor=next_cursor
    )


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: str, services: ServicesDep) -> WebhookOut:
    return WebhookOut.model_validate(
        await service.get_webhook(services.pool, uuid_or_404(webhook_id, "Webhook"))
    )


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: str, services: ServicesDep, operator: AdminDep) -> Response:
    """Stop sending to this endpoint; pending deliveries are cancelled."""
    await service.delete_webhook(
        services.pool, uuid_or_404(webhook_id, "Webhook"), operator=operator
    )
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(
    webhook_id: str,
    services: ServicesDep,
    state: DeliveryState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    """Deliveries to this endpoint, newest first, each with its attempts (status, error,
    duration) and, while pending, when it is tried next."""
    deliveries, next_cursor = await service.list_deliveries(
        services.pool, uuid_or_404(webhook_id, "Webhook"), state, cursor, limit
    )
    return DeliveryList(
        deliveries=[DeliveryOut.model_validate(d) for d in deliveries], next_cursor=next_cursor
    )
