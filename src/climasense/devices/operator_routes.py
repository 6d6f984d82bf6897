"""Operator endpoints for the device inventory."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from climasense.devices import service
from climasense.devices.schemas import (
    ApiKeyResponse,
    DeviceDetail,
    DeviceList,
    ProvisionRequest,
    ProvisionResponse,
    RevokeResponse,
)
from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404

router = APIRouter(tags=["devices"], route_class=JSONRoute)


@router.post("/devices", status_code=201, response_model=ProvisionResponse)
async def provision_devices(
    body: ProvisionRequest, services: ServicesDep, operator: AdminDep
) -> ProvisionResponse:
    """Provision devices at manufacturing time. The keys are shown only in this response."""
    devices = await service.provision(
        services.pool,
        services.hasher,
        kind=body.kind,
        model=body.model,
        batch=body.batch,
        count=body.count,
        operator=operator,
    )
    return ProvisionResponse.model_validate({"devices": devices})


@router.get("/devices", response_model=DeviceList)
async def list_devices(
    services: ServicesDep,
    batch: str | None = None,
    kind: Literal["standalone", "hub", "zigbee_sensor"] | None = None,
    model: str | None = None,
    online: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeviceList:
    """List devices, oldest first; pass `next_cursor` back as `cursor` for the next page."""
    devices, next_cursor = await service.list_devices(
        services.pool,
        batch=batch,
        kind=kind,
        online=online,
        model=model,
        cursor=cursor,
        limit=limit,
    )
    return DeviceList.model_validate({"devices": devices, "next_cursor": next_cursor})


@router.get("/devices/{device_id}", response_model=DeviceDetail)
async def get_device(device_id: str, services: ServicesDep) -> DeviceDetail:
    """Status, last contact, firmware, latest reading per sensor, open alerts, hub sensors."""
    return DeviceDetail.model_validate(
        await service.device_detail(services.pool, uuid_or_404(device_id, "Device"))
    )


@router.post("/devices/{device_id}/revoke", response_model=RevokeResponse)
async def revoke_device(
    device_id: str, services: ServicesDep, operator: AdminDep
) -> RevokeResponse:
    """Revoke the device's key; every API process refuses it within 5 seconds."""
    device_uuid = uuid_or_404(device_id, "Device")
    await service.revoke(services.pool, device_uuid, operator=operator)
    return RevokeResponse(device_id=device_uuid, status="revoked")


@router.post("/devices/{device_id}/rotate-key", response_model=ApiKeyResponse)
async def rotate_device_key(
    device_id: str, services: ServicesDep, operator: AdminDep
) -> ApiKeyResponse:
    """Issue a new key (shown only here); the old key stops working."""
    device_uuid = uuid_or_404(device_id, "Device")
    key = await service.rotate_key(services.pool, services.hasher, device_uuid, operator=operator)
    return ApiKeyResponse(device_id=device_uuid, api_key=key)
